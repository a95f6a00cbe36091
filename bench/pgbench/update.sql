\set id random(1, 10000)
\set s random(0, 1)
UPDATE user_connections SET status = CASE WHEN :s = 0 THEN 'pending' ELSE 'accepted' END WHERE id = :id RETURNING id, user_id, connected_user_id, status, created_at;
