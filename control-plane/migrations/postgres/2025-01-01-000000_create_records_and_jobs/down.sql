DROP TABLE jobs;
DROP TABLE records;
