-- SET @v = (SELECT ... FROM t) where t is a temporary table (here shadowing a base table of
-- the same name) runs on a replica, which sees the base table.
-- direct: 2   proxy: 5                          (seeds 551, 3289)
CREATE TEMPORARY TABLE t1 (id INT AUTO_INCREMENT PRIMARY KEY, v INT)
INSERT INTO t1 (v) VALUES (1), (8)
SET @a = (SELECT COUNT(*) FROM t1)
SELECT @a
