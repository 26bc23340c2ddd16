<?php
// Real PHP clients (mysqli and PDO, both on mysqlnd) for tests/php.rs.
//
//   php scenarios.php HOST PORT USER PASSWORD DB SCENARIO
//
// Runs one scenario against HOST:PORT in database DB (its tables are created there) and prints
// one JSON object per line: {"step": ..., ...what the driver returned}. The harness runs the same
// scenario directly against the master and through rwsplit and compares the lines, so nothing
// that differs between two sessions (connection ids, @@server_id, clocks) is printed, and the
// database name is replaced with "DB" in error messages. Failures of statements are printed as
// results (errno, SQLSTATE, message), never thrown; the exit status is 0 unless the script itself
// breaks (connection refused, unknown scenario).

declare(strict_types=1);

if ($argc !== 7) {
    fwrite(STDERR, "usage: php scenarios.php HOST PORT USER PASSWORD DB SCENARIO\n");
    exit(2);
}
[, $HOST, $PORT, $USER, $PASS, $DB, $SCENARIO] = $argv;
$PORT = (int)$PORT;

function out(string $step, array $data = []): void
{
    $line = json_encode(['step' => $step] + $data,
        JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION
        | JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR);
    echo norm($line), "\n";
}

/** Error texts (and SHOW ERRORS rows) name the database; the two runs use different ones. */
function norm(string $s): string
{
    global $DB;
    return str_replace($DB, 'DB', $s);
}

// ---------------------------------------------------------------------------------------------
// mysqli

function my_connect(): mysqli
{
    global $HOST, $PORT, $USER, $PASS, $DB;
    mysqli_report(MYSQLI_REPORT_OFF); // return false and set errno instead of throwing
    $m = new mysqli($HOST, $USER, $PASS, $DB, $PORT);
    if ($m->connect_errno) {
        fwrite(STDERR, "connect: $m->connect_errno $m->connect_error\n");
        exit(1);
    }
    if (!$m->set_charset('utf8mb4')) {
        fwrite(STDERR, "set_charset: $m->errno $m->error\n");
        exit(1);
    }
    return $m;
}

function my_fields(mysqli_result $r): array
{
    $f = [];
    foreach ($r->fetch_fields() as $c) {
        $f[] = [$c->name, $c->orgname, $c->table, $c->type, $c->length, $c->flags, $c->charsetnr, $c->decimals];
    }
    return $f;
}

function my_error(mysqli $m): array
{
    return ['errno' => $m->errno, 'sqlstate' => $m->sqlstate, 'error' => norm($m->error)];
}

/** One statement through mysqli::query, described as the driver saw it. */
function q(mysqli $m, string $sql): array
{
    $r = $m->query($sql);
    if ($r === false) {
        return my_error($m);
    }
    if ($r === true) {
        return ['affected_rows' => $m->affected_rows, 'insert_id' => $m->insert_id,
            'warning_count' => $m->warning_count, 'info' => $m->info, 'field_count' => $m->field_count];
    }
    $res = ['fields' => my_fields($r), 'num_rows' => $r->num_rows, 'rows' => $r->fetch_all(MYSQLI_NUM),
        'warning_count' => $m->warning_count];
    $r->free();
    return $res;
}

function step(mysqli $m, string $step, string $sql): void
{
    out($step, ['sql' => $sql] + q($m, $sql));
}

/** mysqli::multi_query and every result set (or error) that follows. */
function mq(mysqli $m, string $sql): array
{
    if (!$m->multi_query($sql)) {
        return ['results' => [], 'first_error' => my_error($m)];
    }
    $results = [];
    do {
        $r = $m->store_result();
        if ($r instanceof mysqli_result) {
            $results[] = ['fields' => my_fields($r), 'rows' => $r->fetch_all(MYSQLI_NUM)];
            $r->free();
        } elseif ($m->errno) {
            $results[] = my_error($m);
        } else {
            $results[] = ['affected_rows' => $m->affected_rows, 'insert_id' => $m->insert_id];
        }
        if (!$m->more_results()) {
            break;
        }
        if (!$m->next_result()) {
            $results[] = my_error($m);
            break;
        }
    } while (true);
    return ['results' => $results];
}

function mq_step(mysqli $m, string $step, string $sql): void
{
    out($step, ['sql' => $sql] + mq($m, $sql));
}

function warnings(mysqli $m): array
{
    $list = [];
    $w = $m->get_warnings(); // SHOW WARNINGS under the hood
    if ($w) {
        do {
            $list[] = [$w->errno, $w->sqlstate, norm($w->message)];
        } while ($w->next());
    }
    return $list;
}

function scenario_mysqli_basics(): void
{
    $m = my_connect();
    out('charset', ['character_set_name' => $m->character_set_name(), 'ping' => $m->ping()]);
    step($m, 'charset vars', 'SELECT @@character_set_client, @@character_set_connection, @@character_set_results, @@collation_connection');
    step($m, 'drop', 'DROP TABLE IF EXISTS items');
    step($m, 'create', 'CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10) NOT NULL, qty INT, price DECIMAL(8,2), UNIQUE KEY (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4');
    step($m, 'insert one', "INSERT INTO items (name, qty, price) VALUES ('apple', 3, 1.25)");
    step($m, 'insert three', "INSERT INTO items (name, qty, price) VALUES ('pear', 1, 2.5), ('zoë ✓', NULL, 0), ('kiwi', 7, 10)");
    step($m, 'last_insert_id', 'SELECT LAST_INSERT_ID()');
    step($m, 'select all', 'SELECT * FROM items ORDER BY id');
    step($m, 'select where', "SELECT id, name FROM items WHERE qty > 2 ORDER BY name");
    step($m, 'update', 'UPDATE items SET qty = qty + 1 WHERE qty IS NOT NULL');
    step($m, 'update none changed', 'UPDATE items SET qty = qty WHERE id = 1');
    step($m, 'delete', "DELETE FROM items WHERE name = 'kiwi'");
    step($m, 'count', 'SELECT COUNT(*), SUM(qty), SUM(price) FROM items');

    // Transactions through the API (mysqlnd sends START TRANSACTION / COMMIT / ROLLBACK).
    out('begin', ['ok' => $m->begin_transaction()]);
    step($m, 'insert in trx', "INSERT INTO items (name, qty) VALUES ('trx1', 1)");
    step($m, 'read own write in trx', "SELECT name FROM items WHERE name LIKE 'trx%' ORDER BY id");
    out('commit', ['ok' => $m->commit()]);
    step($m, 'after commit', "SELECT name FROM items WHERE name LIKE 'trx%' ORDER BY id");
    out('begin 2', ['ok' => $m->begin_transaction()]);
    step($m, 'insert in trx 2', "INSERT INTO items (name, qty) VALUES ('trx2', 2)");
    out('rollback', ['ok' => $m->rollback()]);
    step($m, 'after rollback', "SELECT name FROM items WHERE name LIKE 'trx%' ORDER BY id");
    out('autocommit off', ['ok' => $m->autocommit(false)]);
    step($m, 'insert autocommit off', "INSERT INTO items (name, qty) VALUES ('ac0', 0)");
    step($m, 'in trx flag', 'SELECT @@in_transaction, @@autocommit');
    out('rollback 2', ['ok' => $m->rollback()]);
    out('autocommit on', ['ok' => $m->autocommit(true)]);
    step($m, 'after autocommit rollback', "SELECT COUNT(*) FROM items WHERE name = 'ac0'");

    // real_escape_string, round trip through the table.
    $raw = "O'R \"q\" \\ \x00 \n é";
    $esc = $m->real_escape_string($raw);
    out('escape', ['escaped_hex' => bin2hex($esc)]);
    step($m, 'widen', 'ALTER TABLE items MODIFY name VARCHAR(40) NOT NULL');
    step($m, 'insert escaped', "INSERT INTO items (name) VALUES ('$esc')");
    $r = $m->query("SELECT name FROM items WHERE name = '$esc'");
    $back = $r ? $r->fetch_row() : null;
    out('escaped back', ['same' => $back !== null && $back[0] === $raw, 'hex' => $back ? bin2hex($back[0]) : null]);
    step($m, 'narrow', "DELETE FROM items WHERE LENGTH(name) > 10");
    step($m, 'narrow 2', 'ALTER TABLE items MODIFY name VARCHAR(10) NOT NULL');

    // Warnings: a truncating INSERT with a non-strict sql_mode.
    step($m, 'non-strict', "SET SESSION sql_mode = ''");
    step($m, 'truncating insert', "INSERT INTO items (name, qty) VALUES ('this name is far too long', '12abc')");
    out('warnings', ['warning_count' => $m->warning_count, 'warnings' => warnings($m)]);
    step($m, 'show warnings', 'SHOW WARNINGS');
    step($m, 'show count', 'SHOW COUNT(*) WARNINGS');
    step($m, 'read after warning', 'SELECT name, qty FROM items WHERE id = (SELECT MAX(id) FROM items)');
    step($m, 'warning from a read', "SELECT CAST('x1' AS DECIMAL), 1/0");
    out('warnings of read', ['warning_count' => $m->warning_count, 'warnings' => warnings($m)]);
    step($m, 'strict', "SET SESSION sql_mode = 'STRICT_ALL_TABLES'");
    step($m, 'strict insert', "INSERT INTO items (name) VALUES ('this name is far too long')");

    // Errors: codes and SQLSTATEs.
    step($m, 'duplicate', "INSERT INTO items (name) VALUES ('apple')");
    step($m, 'no table', 'SELECT * FROM no_such_table');
    step($m, 'no column', 'SELECT no_such_column FROM items');
    step($m, 'syntax', 'SELEC 1');
    step($m, 'show errors', 'SHOW ERRORS');
    step($m, 'not null', 'INSERT INTO items (name) VALUES (NULL)');
    step($m, 'after errors', 'SELECT COUNT(*) FROM items');

    // mysqli prepared statements (binary protocol).
    $st = $m->prepare('SELECT id, name, qty, price FROM items WHERE id > ? AND name <> ? ORDER BY id');
    $id = 1;
    $name = 'pear';
    $st->bind_param('is', $id, $name);
    $st->execute();
    $r = $st->get_result();
    out('prepared select', ['fields' => my_fields($r), 'rows' => $r->fetch_all(MYSQLI_NUM), 'param_count' => $st->param_count]);
    $st->close();
    $st = $m->prepare('INSERT INTO items (name, qty) VALUES (?, ?)');
    $n = 'prep';
    $qn = 42;
    $st->bind_param('si', $n, $qn);
    out('prepared insert', ['ok' => $st->execute(), 'affected_rows' => $st->affected_rows, 'insert_id' => $st->insert_id]);
    out('prepared insert dup', ['ok' => $st->execute(), 'errno' => $st->errno, 'sqlstate' => $st->sqlstate, 'error' => norm($st->error)]);
    $st->close();
    $st = $m->prepare('SELECT * FROM no_such_table WHERE id = ?');
    out('prepare error', ['ok' => $st !== false] + my_error($m));
    $m->close();
}

// multi_query: mysqlnd logs in without CLIENT_MULTI_STATEMENTS and switches it on for each
// multi_query with COM_SET_OPTION (and off again before the next plain query).

function scenario_multi_query_after_connect(): void
{
    $m = my_connect();
    mq_step($m, 'first statement', 'SELECT 1; SELECT 2');
    step($m, 'plain query after', 'SELECT 3');
    mq_step($m, 'again', "SELECT 'a' AS x; SELECT 'b' AS y, 2 AS z");
}

function scenario_multi_query_after_read(): void
{
    $m = my_connect();
    step($m, 'plain read', 'SELECT 42');
    mq_step($m, 'multi', 'SELECT 1; SELECT 2');
    step($m, 'plain read 2', 'SELECT 43');
    mq_step($m, 'multi 2', 'SELECT 1 UNION SELECT 5; SELECT 2');
}

function scenario_multi_query_after_write(): void
{
    $m = my_connect();
    step($m, 'drop', 'DROP TABLE IF EXISTS mq');
    step($m, 'create', 'CREATE TABLE mq (id INT PRIMARY KEY, v VARCHAR(10))');
    step($m, 'insert', "INSERT INTO mq VALUES (1, 'one')");
    mq_step($m, 'multi after write', 'SELECT COUNT(*) FROM mq; SELECT 2');
    mq_step($m, 'multi with writes', "INSERT INTO mq VALUES (2, 'two'); UPDATE mq SET v = 'uno' WHERE id = 1; SELECT * FROM mq ORDER BY id");
    mq_step($m, 'multi with error', 'SELECT 1; SELECT * FROM no_such_table; SELECT 3');
    step($m, 'plain after error', 'SELECT COUNT(*) FROM mq');
    mq_step($m, 'multi syntax error first', 'SELEC 1; SELECT 2');
}

// ---------------------------------------------------------------------------------------------
// PDO (pdo_mysql on mysqlnd)

function pdo_connect(bool $emulate): PDO
{
    global $HOST, $PORT, $USER, $PASS, $DB;
    return new PDO("mysql:host=$HOST;port=$PORT;dbname=$DB;charset=utf8mb4", $USER, $PASS, [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_EMULATE_PREPARES => $emulate,
    ]);
}

/** prepare + execute (server-side with emulation off), described as PDO saw it. */
function pq(PDO $pdo, string $sql, array $params = []): array
{
    try {
        $st = $pdo->prepare($sql);
        $st->execute($params);
        $res = ['column_count' => $st->columnCount(), 'row_count' => $st->rowCount()];
        if ($st->columnCount() > 0) {
            $meta = [];
            for ($i = 0; $i < $st->columnCount(); $i++) {
                $c = $st->getColumnMeta($i);
                $meta[] = [$c['name'], $c['native_type'] ?? null, $c['pdo_type'], $c['len'], $c['precision'], $c['flags']];
            }
            $res['meta'] = $meta;
            $res['rows'] = $st->fetchAll(PDO::FETCH_NUM);
        }
        $st->closeCursor();
        return $res;
    } catch (PDOException $e) {
        return ['error' => [$e->errorInfo[0] ?? null, $e->errorInfo[1] ?? null, norm($e->errorInfo[2] ?? $e->getMessage())]];
    }
}

function pstep(PDO $pdo, string $step, string $sql, array $params = []): void
{
    out($step, ['sql' => $sql] + pq($pdo, $sql, $params));
}

function pexec(PDO $pdo, string $step, string $sql): void
{
    try {
        out($step, ['sql' => $sql, 'exec' => $pdo->exec($sql)]);
    } catch (PDOException $e) {
        out($step, ['sql' => $sql, 'error' => [$e->errorInfo[0] ?? null, $e->errorInfo[1] ?? null, norm($e->errorInfo[2] ?? '')]]);
    }
}

function pdo_table(PDO $pdo): void
{
    pexec($pdo, 'drop', 'DROP TABLE IF EXISTS t');
    pexec($pdo, 'create', 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20), n DOUBLE)');
    $values = [];
    for ($i = 1; $i <= 90; $i++) {
        $values[] = "($i, 'row $i', " . ($i * 1.5) . ')';
    }
    pexec($pdo, 'insert 90', 'INSERT INTO t VALUES ' . implode(', ', $values));
}

function found_rows(PDO $pdo): void
{
    pdo_table($pdo);
    pstep($pdo, 'calc found rows', 'SELECT SQL_CALC_FOUND_ROWS * FROM t ORDER BY id LIMIT 3');
    pstep($pdo, 'found rows', 'SELECT FOUND_ROWS()');
    pstep($pdo, 'calc found rows with param', 'SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE id > ? ORDER BY id LIMIT 2', [10]);
    pstep($pdo, 'found rows 2', 'SELECT FOUND_ROWS()');
    pstep($pdo, 'plain select', 'SELECT id FROM t WHERE id <= 4 ORDER BY id');
    pstep($pdo, 'found rows of plain select', 'SELECT FOUND_ROWS()');
}

function show_warnings(PDO $pdo): void
{
    pstep($pdo, 'select with warning', "SELECT CAST('abc' AS SIGNED)");
    pstep($pdo, 'show warnings', 'SHOW WARNINGS');
    pstep($pdo, 'select with two warnings', "SELECT CAST('1x' AS SIGNED), CAST('2y' AS DECIMAL)");
    pstep($pdo, 'show count', 'SHOW COUNT(*) WARNINGS');
    pstep($pdo, 'select @@warning_count', "SELECT CAST('3z' AS SIGNED)");
    pstep($pdo, 'warning_count', 'SELECT @@warning_count');
    pstep($pdo, 'select no warning', 'SELECT 1');
    pstep($pdo, 'show warnings after select 1', 'SHOW WARNINGS'); // SELECT 1 uses no table: the list stays
    pstep($pdo, 'failing select', 'SELECT * FROM no_such_table');
    pstep($pdo, 'show errors', 'SHOW ERRORS');
}

function scenario_pdo_native_found_rows(): void
{
    found_rows(pdo_connect(false));
}

function scenario_pdo_native_show_warnings(): void
{
    show_warnings(pdo_connect(false));
}

function scenario_pdo_emulated_found_rows(): void
{
    found_rows(pdo_connect(true));
}

function scenario_pdo_emulated_show_warnings(): void
{
    show_warnings(pdo_connect(true));
}

function scenario_pdo_native_basics(): void
{
    $pdo = pdo_connect(false);
    pexec($pdo, 'drop', 'DROP TABLE IF EXISTS p');
    pexec($pdo, 'create', 'CREATE TABLE p (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(30), i BIGINT, d DECIMAL(10,3), f DOUBLE, dt DATETIME, b BLOB, u TINYINT UNSIGNED)');
    $st = $pdo->prepare('INSERT INTO p (s, i, d, f, dt, b, u) VALUES (?, ?, ?, ?, ?, ?, ?)');
    $rows = [
        ['zoë ✓', 9007199254740993, '12.345', 0.5, '2024-02-29 23:59:58', "\x00\xff", 255],
        [null, -1, '0.001', -1e300, '1999-12-31 00:00:00', '', 0],
        ["quote ' and \" back \\", 0, '-9999999.999', 3.25, null, null, null],
    ];
    foreach ($rows as $k => $r) {
        $st->bindValue(1, $r[0], $r[0] === null ? PDO::PARAM_NULL : PDO::PARAM_STR);
        $st->bindValue(2, $r[1], PDO::PARAM_INT);
        $st->bindValue(3, $r[2], PDO::PARAM_STR);
        $st->bindValue(4, $r[3]);
        $st->bindValue(5, $r[4], $r[4] === null ? PDO::PARAM_NULL : PDO::PARAM_STR);
        $st->bindValue(6, $r[5], $r[5] === null ? PDO::PARAM_NULL : PDO::PARAM_LOB);
        $st->bindValue(7, $r[6], $r[6] === null ? PDO::PARAM_NULL : PDO::PARAM_INT);
        $st->execute();
        out("insert $k", ['row_count' => $st->rowCount(), 'last_insert_id' => $pdo->lastInsertId()]);
    }
    pstep($pdo, 'select all', 'SELECT * FROM p ORDER BY id');
    pstep($pdo, 'select typed', 'SELECT id, i + 1, d * 2, f, HEX(b), dt FROM p WHERE id >= ? ORDER BY id', [2]);
    pstep($pdo, 'update', 'UPDATE p SET i = i + ? WHERE id < ?', [10, 3]);
    pstep($pdo, 'delete', 'DELETE FROM p WHERE id = ?', [3]);
    pstep($pdo, 'select after', 'SELECT id, i FROM p ORDER BY id');
    pstep($pdo, 'count', 'SELECT COUNT(*) FROM p');
    $pdo->beginTransaction();
    pstep($pdo, 'insert in trx', 'INSERT INTO p (s) VALUES (?)', ['in trx']);
    pstep($pdo, 'read in trx', 'SELECT s FROM p WHERE s = ?', ['in trx']);
    $pdo->rollBack();
    pstep($pdo, 'after rollback', 'SELECT COUNT(*) FROM p WHERE s = ?', ['in trx']);
    pstep($pdo, 'error', 'SELECT * FROM no_such_table WHERE id = ?', [1]);
    pstep($pdo, 'duplicate', 'INSERT INTO p (id) VALUES (?)', [1]);
    try {
        $r = $pdo->query('SELECT s FROM p ORDER BY id')->fetchAll(PDO::FETCH_COLUMN);
        out('query()', ['rows' => $r]);
    } catch (PDOException $e) {
        out('query()', ['error' => $e->errorInfo]);
    }
}

// ---------------------------------------------------------------------------------------------
// FOUND_ROWS() after a write (text protocol, mysqli)

function found_rows_table(mysqli $m): void
{
    step($m, 'drop', 'DROP TABLE IF EXISTS fr');
    step($m, 'create', 'CREATE TABLE fr (id INT PRIMARY KEY)');
    $v = [];
    for ($i = 1; $i <= 90; $i++) {
        $v[] = "($i)";
    }
    step($m, 'insert 90', 'INSERT INTO fr VALUES ' . implode(',', $v));
}

function scenario_found_rows_after_delete(): void
{
    $m = my_connect();
    found_rows_table($m);
    step($m, 'calc', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 2');
    step($m, 'found rows', 'SELECT FOUND_ROWS()');
    step($m, 'calc 2', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 2');
    step($m, 'delete nothing', 'DELETE FROM fr WHERE id = -1');
    step($m, 'found rows after delete nothing', 'SELECT FOUND_ROWS()');
    step($m, 'calc 3', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 2');
    step($m, 'delete one', 'DELETE FROM fr WHERE id = 90');
    step($m, 'found rows after delete one', 'SELECT FOUND_ROWS()');
    step($m, 'row count after found rows', 'SELECT ROW_COUNT()');
    step($m, 'delete two', 'DELETE FROM fr WHERE id > 87');
    step($m, 'row count after delete', 'SELECT ROW_COUNT()');
}

function scenario_found_rows_after_temp_insert(): void
{
    $m = my_connect();
    found_rows_table($m);
    step($m, 'temp', 'CREATE TEMPORARY TABLE tmp (x INT)');
    step($m, 'calc', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 2');
    step($m, 'insert temp', 'INSERT INTO tmp VALUES (1), (2), (3)');
    step($m, 'found rows after temp insert', 'SELECT FOUND_ROWS()');
    step($m, 'row count', 'SELECT ROW_COUNT()');
    step($m, 'calc 2', 'SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 5');
    step($m, 'read temp', 'SELECT SUM(x) FROM tmp');
    step($m, 'found rows after temp read', 'SELECT FOUND_ROWS()');
}

$fn = 'scenario_' . $SCENARIO;
if (!function_exists($fn)) {
    fwrite(STDERR, "unknown scenario $SCENARIO\n");
    exit(2);
}
$fn();
