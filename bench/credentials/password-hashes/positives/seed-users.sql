INSERT INTO users (email, password_hash, role) VALUES
  ('admin@acme.example', '$2b$12$gi06hawQ6Uf7.P96Yqn7CeMpprSrXxPtCLErwaFbHvbi7ah7luYH.', 'admin');
