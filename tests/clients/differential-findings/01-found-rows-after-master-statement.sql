-- FOUND_ROWS() after a statement that ran on the master (a write, a failed statement, a
-- locking read, a statement the proxy did not classify such as VALUES, a multi-statement)
-- answers the master's count: 1, the row of the proxy's own query there.
-- direct: 5 / 2   proxy: 1 / 1          (seeds 6, 12, 38, 67, 247, 261, 276, 1248)
SELECT SQL_CALC_FOUND_ROWS id, k FROM t1 ORDER BY id LIMIT 2
DELETE FROM t1 WHERE id = 2
SELECT FOUND_ROWS()
SELECT SQL_CALC_FOUND_ROWS id, k FROM t1 WHERE k > 34 ORDER BY id LIMIT 0
VALUES (1, 'a'), (2, 'b')
SELECT FOUND_ROWS()
