DROP TABLE time_entry_pushes;
