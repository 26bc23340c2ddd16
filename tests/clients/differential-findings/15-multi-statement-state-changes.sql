-- Multi-statements: a USE or SET after a comment inside the multi-statement is not seen; a
-- multi-statement that ends in an error loses the state changes of its successful parts.
-- direct: {DB2} / {DB2}   proxy: {DB} / {DB}       (seeds 117, 727, 764, 871, 997, 1031)
!opts multi=1
SELECT 1; /* c */ USE {DB2}
SELECT DATABASE()
!reconnect
USE {DB2}; SELECT nosuchcol FROM t1
SELECT DATABASE()
