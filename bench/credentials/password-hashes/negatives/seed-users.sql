INSERT INTO users (email, password_hash) VALUES ('admin@acme.example', '$2b$12$');
