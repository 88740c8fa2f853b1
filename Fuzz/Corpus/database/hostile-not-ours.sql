DROP TABLE schema_migrations; CREATE TABLE t (x); PRAGMA user_version = 0;
