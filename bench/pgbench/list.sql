\set u random(1, 2500)
SELECT id, user_id, connected_user_id, status, created_at FROM user_connections WHERE user_id = :u ORDER BY id LIMIT 50;
