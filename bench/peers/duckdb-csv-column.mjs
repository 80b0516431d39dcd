// Count, min, max, sum and mean of one column of a CSV with a header, in
// DuckDB (@duckdb/node-api, installed by the harness into bench/.deps):
// read_csv with the quoting of RFC 4180, DuckDB's own parallel reader.
//
//   node bench/peers/duckdb-csv-column.mjs FILE COLUMN [THREADS]
//     -> JSON { count, sum, min, max, mean }
// Exits 3 when @duckdb/node-api is not installed.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';

const [file, column] = process.argv.slice(2);
const threads = Number(process.argv[4] ?? availableParallelism());
if (!file || !column || !(threads >= 1)) {
  console.error('usage: duckdb-csv-column.mjs FILE COLUMN [THREADS]');
  process.exit(2);
}

let duckdb;
try {
  const require = createRequire(new URL('../.deps/package.json', import.meta.url));
  duckdb = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
} catch (error) {
  console.error(`duckdb-csv-column: @duckdb/node-api is not installed in bench/.deps (${error.message.split('\n')[0]})`);
  process.exit(3);
}

const { DuckDBInstance } = duckdb;
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const connection = await instance.connect();
const quoted = `'${file.replace(/'/g, "''")}'`;
const col = `"${column.replace(/"/g, '""')}"`;
// The columns are given, so DuckDB does not sniff; 'price' as DOUBLE, the rest as text.
const sql = `
  SELECT count(${col}) AS count, sum(${col}) AS sum, min(${col}) AS min, max(${col}) AS max, avg(${col}) AS mean
  FROM read_csv(${quoted}, header = true, delim = ',', quote = '"', escape = '"',
                columns = {'id': 'BIGINT', 'name': 'VARCHAR', 'price': 'DOUBLE', 'qty': 'INTEGER', 'comment': 'VARCHAR'})`;
const reader = await connection.runAndReadAll(sql);
const [row] = reader.getRowObjectsJS();
process.stdout.write(`${JSON.stringify({ count: Number(row.count), sum: row.sum, min: row.min, max: row.max, mean: row.mean })}\n`);
connection.closeSync?.();
instance.closeSync?.();
