INSERT INTO schema_migrations VALUES ('v9_from_the_future', 'now'); PRAGMA user_version = 9;
