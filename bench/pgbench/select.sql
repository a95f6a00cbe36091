\set id random(1, 10000)
SELECT id, user_id, connected_user_id, status, created_at FROM user_connections WHERE id = :id;
