/**
 * Issue 12.1: another local user must never get their code run through the
 * TypeScript cache, nor make pagewise write into their directory. A victim
 * (uid 65534, no usable home, so the cache is in a shared sticky temp dir)
 * runs a TypeScript job over and over, with worker threads, while an
 * attacker (uid 65533) plants symlinks and directories of their own at the
 * cache's name (before the victim's first run) and swaps them with
 * renameat2(RENAME_EXCHANGE) in a loop for a few seconds. Their directories hold the module pagewise would load, for
 * the exact cache key, and it records any run of itself.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheKey } from '../dist/src/ts-cache.js';
import { stripperId } from '../dist/src/ts-strip.js';
import { CLI } from './helpers.js';

const VICTIM = 65534;
const ATTACKER = 65533;
const SECONDS = 4;
const isRoot = process.getuid?.() === 0;
const hasPython = spawnSync('/usr/bin/python3', ['-c', 'import ctypes; ctypes.CDLL(None).renameat2'], { encoding: 'utf8' }).status === 0;

const ATTACKER_LOOP = String.raw`
import ctypes, os, random, sys, time
target, decoy, link, evil, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
def exchange(a, b):
    return libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE) == 0
swaps = 0
def plant():
    tmp = target + '.new'
    try:
        os.symlink(evil, tmp)
        os.rename(tmp, target)   # replaces only an entry of ours (the dir is sticky)
        return 1
    except OSError:
        try: os.unlink(tmp)
        except OSError: pass
        return 0
plant()
print('ready', flush=True)
end = time.time() + seconds
while time.time() < end:
    swaps += plant()
    for _ in range(50):
        swaps += exchange(target, decoy)
        swaps += exchange(target, link)
print(swaps)
`;

describe.skipIf(!isRoot || !hasPython)('the TypeScript cache against another local user', () => {
  const base = mkdtempSync('/tmp/pagewise-attack-');
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it(`never runs the attacker's module nor writes into their directories (${SECONDS} s of swapping)`, { timeout: 60_000 }, async () => {
    chmodSync(base, 0o755);
    const shared = join(base, 'shared'); // the victim's TMPDIR, like /tmp
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const jobs = join(base, 'jobs');
    mkdirSync(jobs, { mode: 0o755 });
    const jobPath = join(jobs, 'count.ts');
    const source = `interface Acc { n: number }
export default {
  init: (): Acc => ({ n: 0 }),
  map(acc: Acc, bytes: Uint8Array): Acc { for (const b of bytes) if (b === 0x0a) acc.n++; return acc; },
  merge: (a: Acc, b: Acc): Acc => ({ n: a.n + b.n }),
};
`;
    writeFileSync(jobPath, source, { mode: 0o644 });
    const data = join(jobs, 'data.txt');
    writeFileSync(data, Array.from({ length: 20000 }, (_, i) => `line ${i}`).join('\n') + '\n', { mode: 0o644 });

    // What the attacker offers, under the very name pagewise would read.
    const pwned = join(base, 'pwned');
    mkdirSync(pwned);
    chmodSync(pwned, 0o777);
    const entry = `${cacheKey([stripperId(), 'strip|transform+inline-map', 'module', jobPath, source])}.js`;
    const evilModule = `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(pwned)} + '/ran-' + process.pid + '-' + Math.random(), 'attacker code ran');
export default { init: () => ({ n: 666 }), map: (a) => a, merge: (a) => a };
`;
    const evil = join(base, 'evil');
    const decoy = join(shared, 'decoy');
    for (const d of [evil, decoy]) {
      mkdirSync(d);
      writeFileSync(join(d, entry), evilModule);
      chownSync(join(d, entry), ATTACKER, ATTACKER);
      chmodSync(d, 0o777); // writable by the victim too: any write pagewise made there would show
      chownSync(d, ATTACKER, ATTACKER);
    }
    const link = join(shared, 'link');
    spawnSync('ln', ['-s', evil, link]);
    spawnSync('chown', ['-h', `${ATTACKER}:${ATTACKER}`, link]);
    const script = join(base, 'attack.py');
    writeFileSync(script, ATTACKER_LOOP, { mode: 0o644 });

    const target = join(shared, `pagewise-cache-${VICTIM}`);
    const attacker = spawn(
      'setpriv',
      [`--reuid=${ATTACKER}`, `--regid=${ATTACKER}`, '--clear-groups', '/usr/bin/python3', script, target, decoy, link, evil, String(SECONDS)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let swaps = '';
    const ready = new Promise<void>((resolve) =>
      attacker.stdout.on('data', (d) => {
        swaps += d;
        if (swaps.startsWith('ready\n')) resolve();
      }),
    );
    const attackerDone = new Promise<number | null>((resolve) => attacker.on('exit', resolve));
    // The name is the attacker's before the victim ever looks.
    await Promise.race([ready, attackerDone]);

    // The victim: Node started as root drops to VICTIM before loading
    // anything of pagewise (setpriv would need VICTIM to be able to run this
    // Node binary, which npx's Node 24 under /root is not).
    const asVictim = `process.setgroups([]); process.setgid(${VICTIM}); process.setuid(${VICTIM}); require(process.argv[1]);`;
    const results: { status: number | null; stdout: string; stderr: string }[] = [];
    let attackerExited = false;
    void attackerDone.then(() => (attackerExited = true));
    while (!attackerExited || results.length < 4) {
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ['-e', asVictim, CLI, 'run', jobPath, data, '--json', '--threads', '2', '--chunk-size', '4KiB', '--no-native-kernels'],
          { env: { PATH: process.env.PATH, HOME: '/nonexistent', TMPDIR: shared }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
      results.push(r);
      if (results.length > 40) break;
    }
    expect(await attackerDone).toBe(0);
    expect(Number(swaps.replace('ready\n', ''))).toBeGreaterThan(100);

    for (const r of results) {
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ n: 20000 });
    }
    expect(readdirSync(pwned)).toEqual([]);
    // Nothing of the victim's in any directory of the attacker's.
    for (const d of [evil, decoy]) {
      for (const name of readdirSync(d)) expect(lstatSync(join(d, name)).uid, `${d}/${name}`).toBe(ATTACKER);
      expect(readFileSync(join(d, entry), 'utf8')).toBe(evilModule);
    }
  });
});
