'use strict';
// Node's mysql2 driver (from npm, pinned in package.json) for tests/drivers.rs.
//
//   node scenarios.js HOST PORT USER PASSWORD DB SCENARIO
//
// Runs one scenario against HOST:PORT in database DB (its tables are created there) and prints
// one JSON object per line: {"step": ..., ...what the driver returned}. The harness runs the same
// scenario directly against the master and through rwsplit and compares the lines, so nothing
// that differs between two sessions (connection ids, clocks, @@server_id outside a transaction)
// is printed, and the database name is replaced with "DB". Failures of statements are printed as
// results (code, errno, SQLSTATE, message), never thrown; the exit status is 0 unless the script
// itself breaks (connection refused, unknown scenario).
//
// Connections use mysql2's defaults unless a scenario says otherwise: mysql2 logs in with
// CLIENT_IGNORE_SPACE (the server then adds IGNORE_SPACE to sql_mode, and `COUNT (*)` with a
// space parses), without CLIENT_MULTI_STATEMENTS, with autocommit on.

const mysql = require('mysql2/promise');

if (process.argv.length !== 8) {
  process.stderr.write('usage: node scenarios.js HOST PORT USER PASSWORD DB SCENARIO\n');
  process.exit(2);
}
const [HOST, PORT, USER, PASSWORD, DB, SCENARIO] = process.argv.slice(2);

function norm(s) {
  return s.split(DB).join('DB');
}

function out(step, data = {}) {
  process.stdout.write(norm(JSON.stringify({ step, ...data })) + '\n');
}

function options(extra = {}) {
  return { host: HOST, port: Number(PORT), user: USER, password: PASSWORD, database: DB, ...extra };
}

function connect(extra = {}) {
  return mysql.createConnection(options(extra));
}

function fieldsOf(fields) {
  if (!fields) return undefined;
  return fields.map((f) => [f.name, f.orgName, f.table, f.orgTable, f.columnType, f.flags,
    f.characterSet, f.columnLength, f.decimals]);
}

function errorOf(e) {
  if (e.sqlState === undefined && e.errno === undefined) throw e; // not a server error: a bug
  return { error: { code: e.code, errno: e.errno, sqlState: e.sqlState, message: e.sqlMessage } };
}

/** One result (a row set or a ResultSetHeader) as the driver returned it. */
function resultOf(rows, fields) {
  if (Array.isArray(rows)) {
    return { fields: fieldsOf(fields), rows };
  }
  return {
    affectedRows: rows.affectedRows,
    insertId: rows.insertId,
    warningStatus: rows.warningStatus,
    changedRows: rows.changedRows,
    info: rows.info,
    serverStatus: rows.serverStatus,
  };
}

/** conn.query() (text protocol), optionally with client-side escaped `params`. */
async function q(conn, step, sql, params) {
  try {
    const [rows, fields] = params === undefined ? await conn.query(sql) : await conn.query(sql, params);
    out(step, { sql, query: resultOf(rows, fields) });
  } catch (e) {
    out(step, { sql, query: errorOf(e) });
  }
}

/** conn.execute() (binary protocol: COM_STMT_PREPARE once per SQL text, then COM_STMT_EXECUTE). */
async function x(conn, step, sql, params = []) {
  try {
    const [rows, fields] = await conn.execute(sql, params);
    out(step, { sql, params, execute: resultOf(rows, fields) });
  } catch (e) {
    out(step, { sql, params, execute: errorOf(e) });
  }
}

/** A multi-statement query: every result set or OK, in order. */
async function mq(conn, step, sql) {
  try {
    const [rows, fields] = await conn.query(sql);
    // One statement gives a plain result; several give arrays of results and of field lists.
    const multi = Array.isArray(rows) && rows.length > 0 &&
      (Array.isArray(rows[0]) || (rows[0] && rows[0].constructor && rows[0].constructor.name === 'ResultSetHeader'));
    const results = multi ? rows.map((r, i) => resultOf(r, fields[i])) : [resultOf(rows, fields)];
    out(step, { sql, results });
  } catch (e) {
    out(step, { sql, results: errorOf(e) });
  }
}

async function table(conn, name, n) {
  await q(conn, 'drop ' + name, `DROP TABLE IF EXISTS ${name}`);
  await q(conn, 'create ' + name, `CREATE TABLE ${name} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), n INT)`);
  if (n > 0) {
    const values = [];
    for (let i = 1; i <= n; i++) values.push(`('row ${i}', ${i})`);
    await q(conn, `insert ${n} into ${name}`, `INSERT INTO ${name} (v, n) VALUES ${values.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------

const scenarios = {};

/** query() and execute() for inserts, selects, insertId/affectedRows, warnings and errors. */
scenarios.basics = async () => {
  const conn = await connect();
  await q(conn, 'sql_mode has IGNORE_SPACE', "SELECT FIND_IN_SET('IGNORE_SPACE', @@sql_mode) > 0 AS ignore_space");
  await q(conn, 'count with a space before any write', 'SELECT COUNT (*) AS c FROM information_schema.schemata WHERE schema_name = DATABASE()');
  await x(conn, 'execute count with a space before any write', 'SELECT COUNT (*) AS c FROM information_schema.schemata WHERE schema_name = ?', ['no such schema']);
  await q(conn, 'drop', 'DROP TABLE IF EXISTS t');
  await q(conn, 'create', 'CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, qty INT, price DECIMAL(8,2), seen DATETIME, UNIQUE KEY (name)) DEFAULT CHARSET=utf8mb4');
  await q(conn, 'insert one', "INSERT INTO t (name, qty, price, seen) VALUES ('apple', 3, 1.25, '2024-02-29 23:59:58')");
  await q(conn, 'insert three', "INSERT INTO t (name, qty, price) VALUES ('pear', 1, 2.5), ('zoë ✓', NULL, 0), ('kiwi', 7, 10)");
  await q(conn, 'insert escaped params', 'INSERT INTO t (name, qty, price) VALUES (?, ?, ?)', ["it's \"q\"", 4, '3.75']);
  await x(conn, 'execute insert', 'INSERT INTO t (name, qty, price, seen) VALUES (?, ?, ?, ?)', ['plum', 5, '0.99', '1999-12-31 00:00:01']);
  await x(conn, 'execute insert null', 'INSERT INTO t (name, qty, price) VALUES (?, ?, ?)', ['fig', null, null]);
  await q(conn, 'last_insert_id', 'SELECT LAST_INSERT_ID() AS id');
  await q(conn, 'select all', 'SELECT * FROM t ORDER BY id');
  await x(conn, 'execute select all', 'SELECT * FROM t ORDER BY id');
  await x(conn, 'execute select where', 'SELECT id, name, qty * 2 AS dbl FROM t WHERE qty > ? ORDER BY name', [2]);
  await x(conn, 'execute select again (statement reused)', 'SELECT id, name, qty * 2 AS dbl FROM t WHERE qty > ? ORDER BY name', [4]);
  await q(conn, 'count with a space', 'SELECT COUNT (*) AS c FROM t');
  await x(conn, 'execute count with a space', 'SELECT COUNT (*) AS c FROM t WHERE id > ?', [1]);
  await q(conn, 'update', 'UPDATE t SET qty = qty + 1 WHERE qty IS NOT NULL');
  await x(conn, 'execute update none changed', 'UPDATE t SET qty = qty WHERE id = ?', [1]);
  await x(conn, 'execute delete', 'DELETE FROM t WHERE name = ?', ['kiwi']);
  await q(conn, 'sum', 'SELECT COUNT(*) AS c, SUM(qty) AS q, SUM(price) AS p FROM t');

  // Warnings: the count is in the OK packet (warningStatus).
  await q(conn, 'insert ignore duplicate', "INSERT IGNORE INTO t (name, qty) VALUES ('apple', 1), ('pear', 2), ('new', 3)");
  await q(conn, 'show warnings', 'SHOW WARNINGS');
  await x(conn, 'execute insert ignore duplicate', 'INSERT IGNORE INTO t (name, qty) VALUES (?, ?)', ['apple', 9]);
  await x(conn, 'execute show warnings', 'SHOW WARNINGS');
  await q(conn, 'read with a warning', "SELECT CAST('12abc' AS SIGNED) AS n");
  await q(conn, 'show warnings of the read', 'SHOW WARNINGS');
  await q(conn, 'warning count', 'SELECT @@warning_count AS w');
  await q(conn, 'update with warnings', "UPDATE IGNORE t SET qty = 'x' WHERE name = 'apple'");

  // Errors: code, errno, SQLSTATE and message.
  await q(conn, 'duplicate', "INSERT INTO t (name) VALUES ('apple')");
  await x(conn, 'execute duplicate', 'INSERT INTO t (name) VALUES (?)', ['apple']);
  await q(conn, 'not null', 'INSERT INTO t (name) VALUES (NULL)');
  await q(conn, 'no table', 'SELECT * FROM no_such_table');
  await x(conn, 'execute no table', 'SELECT * FROM no_such_table WHERE id = ?', [1]);
  await q(conn, 'no column', 'SELECT no_such_column FROM t');
  await q(conn, 'syntax', 'SELEC 1');
  await x(conn, 'execute syntax', 'SELEC ?', [1]);
  await q(conn, 'usable after errors', 'SELECT name FROM t WHERE id = 1');
  await conn.end();
};

/** beginTransaction / commit / rollback; reads in a transaction run on the master. */
scenarios.transactions = async () => {
  const conn = await connect();
  await table(conn, 'tx', 0);
  await conn.beginTransaction();
  out('begin');
  await q(conn, 'insert in trx', "INSERT INTO tx (v, n) VALUES ('trx1', 1)");
  await x(conn, 'execute insert in trx', 'INSERT INTO tx (v, n) VALUES (?, ?)', ['trx1b', 2]);
  await q(conn, 'read own write in trx', "SELECT v, n FROM tx WHERE v LIKE 'trx%' ORDER BY id");
  await x(conn, 'execute read own write in trx', 'SELECT v, n FROM tx WHERE v LIKE ? ORDER BY id', ['trx%']);
  // In a transaction every statement runs on the master, directly and through the proxy alike.
  await q(conn, 'server in trx', 'SELECT @@server_id AS server_id, @@in_transaction AS in_trx');
  await x(conn, 'execute server in trx', 'SELECT @@server_id AS server_id');
  await conn.commit();
  out('commit');
  await q(conn, 'after commit', "SELECT v, n FROM tx WHERE v LIKE 'trx%' ORDER BY id");
  await x(conn, 'execute after commit', 'SELECT COUNT(*) AS c FROM tx WHERE v LIKE ?', ['trx%']);
  await conn.beginTransaction();
  out('begin 2');
  await q(conn, 'insert in trx 2', "INSERT INTO tx (v, n) VALUES ('trx2', 3)");
  await x(conn, 'execute update in trx 2', 'UPDATE tx SET n = n + ? WHERE v = ?', [10, 'trx1']);
  await q(conn, 'read in trx 2', 'SELECT v, n FROM tx ORDER BY id');
  await conn.rollback();
  out('rollback');
  await q(conn, 'after rollback', 'SELECT v, n FROM tx ORDER BY id');
  await x(conn, 'execute after rollback', 'SELECT v, n FROM tx ORDER BY id');
  await q(conn, 'in trx flag after rollback', 'SELECT @@in_transaction AS in_trx, @@autocommit AS ac');
  // A failed statement inside a transaction leaves it open.
  await conn.beginTransaction();
  out('begin 3');
  await q(conn, 'insert in trx 3', "INSERT INTO tx (v, n) VALUES ('trx3', 4)");
  await q(conn, 'error in trx 3', 'INSERT INTO tx (id, v) VALUES (1, \'dup\')');
  await q(conn, 'still in trx 3', 'SELECT @@in_transaction AS in_trx, COUNT(*) AS c FROM tx');
  await conn.commit();
  out('commit 3');
  await q(conn, 'after commit 3', 'SELECT v, n FROM tx ORDER BY id');
  await conn.end();
};

/** A pool (connectionLimit 2) running many short queries concurrently, reusing connections. */
scenarios.pool = async () => {
  const pool = mysql.createPool(options({ connectionLimit: 2 }));
  let created = 0;
  let acquires = 0;
  const ids = new Set();
  pool.pool.on('connection', () => { created++; });
  pool.pool.on('acquire', (c) => { acquires++; ids.add(c.threadId); });
  const run = async (sql, params) => {
    try {
      const [rows, fields] = await pool.query(sql, params);
      return resultOf(rows, fields);
    } catch (e) {
      return errorOf(e);
    }
  };
  const exec = async (sql, params) => {
    try {
      const [rows, fields] = await pool.execute(sql, params);
      return resultOf(rows, fields);
    } catch (e) {
      return errorOf(e);
    }
  };
  out('drop', { query: await run('DROP TABLE IF EXISTS pt') });
  out('create', { query: await run('CREATE TABLE pt (id INT PRIMARY KEY, v INT)') });
  const values = [];
  for (let i = 1; i <= 20; i++) values.push(`(${i}, ${i * 10})`);
  out('insert 20', { query: await run(`INSERT INTO pt VALUES ${values.join(', ')}`) });

  const range = (n) => Array.from({ length: n }, (_, i) => i);
  // 60 reads at once through the text protocol (params escaped client-side).
  const reads = await Promise.all(range(60).map((i) => run('SELECT id, v FROM pt WHERE id = ?', [(i % 20) + 1])));
  out('60 concurrent reads', { results: reads });
  // 40 prepared reads at once: each pool connection prepares the statement once.
  const execs = await Promise.all(range(40).map((i) => exec('SELECT v + ? AS w FROM pt WHERE id = ?', [i, (i % 20) + 1])));
  out('40 concurrent executes', { results: execs });
  out('count with a space', { query: await run('SELECT COUNT (*) AS c FROM pt') });
  out('execute count with a space', { execute: await exec('SELECT COUNT (*) AS c FROM pt WHERE v > ?', [0]) });
  // Writes on both pool connections, then reads that must see every one of them.
  const updates = await Promise.all(range(20).map((i) => exec('UPDATE pt SET v = v + 1 WHERE id = ?', [i + 1])));
  out('20 concurrent updates', { results: updates });
  out('sum after updates', { query: await run('SELECT SUM(v) AS s, COUNT(*) AS c FROM pt') });
  out('execute sum after updates', { execute: await exec('SELECT SUM(v) AS s FROM pt WHERE id > ?', [0]) });
  // 100 short sequential queries, alternating protocols.
  let sum = 0;
  const failures = [];
  for (let i = 0; i < 100; i++) {
    const r = i % 2 ? await exec('SELECT v FROM pt WHERE id = ?', [(i % 20) + 1]) : await run('SELECT v FROM pt WHERE id = ?', [(i % 20) + 1]);
    if (r.error || r.rows.length !== 1) failures.push([i, r]);
    else sum += r.rows[0].v;
  }
  out('100 sequential reads', { sum, failures });
  // getConnection / release: the same connections come back.
  const c1 = await pool.getConnection();
  const [[who]] = await c1.query('SELECT COUNT(*) AS c FROM pt');
  c1.release();
  const c2 = await pool.getConnection();
  const reused = ids.has(c2.threadId);
  c2.release();
  out('getConnection', { count: who.c, reused });
  out('pool', { created, distinct_connections: ids.size, acquired_more_than_created: acquires > created });
  await pool.end();
};

/** SQL_CALC_FOUND_ROWS ... LIMIT, then SELECT FOUND_ROWS(), through query() and execute(). */
scenarios.found_rows = async () => {
  const conn = await connect();
  await table(conn, 'fr', 90);
  await q(conn, 'calc', 'SELECT SQL_CALC_FOUND_ROWS id, v FROM fr ORDER BY id LIMIT 3');
  await q(conn, 'found rows', 'SELECT FOUND_ROWS() AS n');
  await x(conn, 'execute calc', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr WHERE id > ? ORDER BY id LIMIT 2', [10]);
  await x(conn, 'execute found rows', 'SELECT FOUND_ROWS() AS n');
  await q(conn, 'calc text', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr WHERE n <= 50 ORDER BY id LIMIT 1');
  await x(conn, 'execute found rows after text calc', 'SELECT FOUND_ROWS() AS n');
  await x(conn, 'execute calc 2', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr WHERE n > ? ORDER BY id LIMIT 4', [80]);
  await q(conn, 'found rows after execute calc', 'SELECT FOUND_ROWS() AS n');
  await q(conn, 'plain select', 'SELECT id FROM fr WHERE id <= 4 ORDER BY id');
  await q(conn, 'found rows of plain select', 'SELECT FOUND_ROWS() AS n');
  await q(conn, 'calc 3', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 2');
  await q(conn, 'delete nothing', 'DELETE FROM fr WHERE id = -1');
  await x(conn, 'execute found rows after delete', 'SELECT FOUND_ROWS() AS n');
  await conn.end();
};

/** User variables (and a session variable) set, then read through both protocols. */
scenarios.user_variables = async () => {
  const conn = await connect();
  await q(conn, 'set', "SET @a = 1, @s = 'zoë', @n = NULL");
  await q(conn, 'read', 'SELECT @a AS a, @s AS s, @n AS n');
  await x(conn, 'execute read', 'SELECT @a AS a, @s AS s, @n AS n');
  await x(conn, 'execute set', 'SET @b = ?', [41]);
  await q(conn, 'read b', 'SELECT @b + 1 AS b');
  await x(conn, 'execute read b', 'SELECT @b + ? AS b', [1]);
  await q(conn, 'assign in select', 'SELECT @c := 5 AS c');
  await q(conn, 'read c', 'SELECT @c AS c, @a + @c AS sum');
  await x(conn, 'execute read c', 'SELECT @c AS c');
  await q(conn, 'increment', 'SET @a = @a + 10');
  await x(conn, 'execute read incremented', 'SELECT @a AS a');
  await q(conn, 'session variable', 'SET SESSION group_concat_max_len = 7');
  await q(conn, 'read session variable', 'SELECT @@session.group_concat_max_len AS g');
  await x(conn, 'execute truncated by session variable', "SELECT GROUP_CONCAT(x SEPARATOR ',') AS g FROM (SELECT 'abc' AS x UNION ALL SELECT 'def' UNION ALL SELECT 'ghi') s");
  await q(conn, 'warnings of the truncation', 'SHOW WARNINGS');
  await q(conn, 'still IGNORE_SPACE', "SELECT FIND_IN_SET('IGNORE_SPACE', @@sql_mode) > 0 AS ignore_space, COUNT (*) AS c FROM (SELECT 1) s");
  await conn.end();
};

/** A multi-statement query with multipleStatements: true; without it the server refuses. */
scenarios.multi_statements = async () => {
  const plain = await connect();
  await mq(plain, 'refused without multipleStatements', 'SELECT 1 AS a; SELECT 2 AS b');
  await q(plain, 'usable after refusal', 'SELECT 3 AS c');
  await plain.end();

  const conn = await connect({ multipleStatements: true });
  await mq(conn, 'two selects', 'SELECT 1 AS a; SELECT 2 AS b, 3 AS c');
  await mq(conn, 'create and insert', "DROP TABLE IF EXISTS ms; CREATE TABLE ms (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)); INSERT INTO ms (v) VALUES ('a'), ('b'); INSERT INTO ms (v) VALUES ('c')");
  await mq(conn, 'insert then read', "INSERT INTO ms (v) VALUES ('d'); SELECT LAST_INSERT_ID() AS id, ROW_COUNT() AS rc; SELECT v FROM ms ORDER BY id");
  await mq(conn, 'set then read', 'SET @m = 5; SELECT @m * 2 AS m2');
  await q(conn, 'read variable later', 'SELECT @m AS m');
  await mq(conn, 'error in second statement', 'SELECT 1 AS ok; SELECT * FROM no_such_table; SELECT 2 AS never');
  await q(conn, 'usable after error', 'SELECT COUNT(*) AS c FROM ms');
  await mq(conn, 'read only', "SELECT COUNT (*) AS c FROM ms; SELECT v FROM ms WHERE v > 'b' ORDER BY v");
  await mq(conn, 'transaction', "START TRANSACTION; UPDATE ms SET v = 'z' WHERE id = 1; SELECT v FROM ms WHERE id = 1; ROLLBACK");
  await q(conn, 'after rollback', 'SELECT v FROM ms WHERE id = 1');
  await x(conn, 'execute after multi', 'SELECT v FROM ms WHERE id = ?', [2]);
  await conn.end();
};

// ---------------------------------------------------------------------------------------------

const fn = scenarios[SCENARIO];
if (!fn) {
  process.stderr.write(`unknown scenario ${SCENARIO}\n`);
  process.exit(2);
}
fn().catch((e) => {
  process.stderr.write(`scenario ${SCENARIO} failed: ${e.stack || e}\n`);
  process.exit(1);
});
