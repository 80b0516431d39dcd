// The 1BRC summary in DuckDB (@duckdb/node-api, installed by the harness into
// bench/.deps): a CSV scan with a GROUP BY, DuckDB's own parallel reader.
//
//   node bench/peers/duckdb-stats.mjs FILE [THREADS]
//     -> JSON [{ name, min, mean, max, count }] sorted by name
// Exits 3 when @duckdb/node-api is not installed.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
const threads = Number(process.argv[3] ?? availableParallelism());
if (!file || !(threads >= 1)) {
  console.error('usage: duckdb-stats.mjs FILE [THREADS]');
  process.exit(2);
}

let duckdb;
try {
  const require = createRequire(new URL('../.deps/package.json', import.meta.url));
  duckdb = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
} catch (error) {
  console.error(`duckdb-stats: @duckdb/node-api is not installed in bench/.deps (${error.message.split('\n')[0]})`);
  process.exit(3);
}

const { DuckDBInstance } = duckdb;
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const connection = await instance.connect();
const quoted = `'${file.replace(/'/g, "''")}'`;
const sql = `
  SELECT name, min(value) AS min, avg(value) AS mean, max(value) AS max, count(*) AS count
  FROM read_csv(${quoted}, delim = ';', header = false, quote = '', escape = '',
                columns = {'name': 'VARCHAR', 'value': 'DOUBLE'})
  GROUP BY name
  ORDER BY name`;
const reader = await connection.runAndReadAll(sql);
const rows = reader.getRowObjectsJS().map((r) => ({ name: r.name, min: r.min, mean: r.mean, max: r.max, count: Number(r.count) }));
// ORDER BY uses DuckDB's collation; sort by code units like the other peers.
rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
process.stdout.write(`${JSON.stringify(rows)}\n`);
connection.closeSync?.();
instance.closeSync?.();
