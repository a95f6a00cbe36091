\set u random(1, 2500)
\set v random(1, 2500)
INSERT INTO user_connections (user_id, connected_user_id, status) SELECT :u, :v, 'pending' WHERE turnout_enter('connections', 'legacy') RETURNING id, user_id, connected_user_id, status, created_at;
