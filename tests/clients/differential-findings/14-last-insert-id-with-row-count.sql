-- A SELECT naming both LAST_INSERT_ID() and ROW_COUNT() follows the ROW_COUNT() rule (where the
-- previous statement ran: a replica) even with /* rwsplit:master */.
-- direct: 1 -1   proxy: 0 -1                    (seeds 210, 806, 976)
CREATE TEMPORARY TABLE tmp2 (id INT AUTO_INCREMENT PRIMARY KEY, v INT)
INSERT INTO tmp2 (v) VALUES (7), (3)
SELECT COUNT(*) FROM t1
SELECT LAST_INSERT_ID(), ROW_COUNT()
/* rwsplit:master */ SELECT LAST_INSERT_ID(), ROW_COUNT()
