/**
 * grep -r and -R against GNU grep 3.8 (C locale) and a Python walk: the set of
 * files read is GNU grep's, the order is the documented one (each directory's
 * entries in byte order, depth first: Python's sorted os.listdir), and each
 * file's lines, counts and names are GNU grep's for that file list. The tree
 * has what trees have: hidden files, nested and empty directories, names that
 * sort differently as whole paths, a file without a trailing newline, CRLF,
 * an empty file, one larger than a chunk, links to files and directories, a
 * dangling link, a link back up (a loop), a FIFO, and a name that is not UTF-8.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagewise, tool } from './cli-helpers.js';

let root: string;
let tree: string;

/** The files GNU grep -r (or -R) would read, in pagewise's order, from a plain Python walk. */
function pythonWalk(operands: string[], follow: boolean, cwd: string): string[] {
  const script = `
import os, stat, sys
follow = sys.argv[1] == '1'
out = []
def walk(d, shown, ancestors):
    st = os.stat(d)
    ident = (st.st_dev, st.st_ino)
    if ident in ancestors:
        return
    ancestors = ancestors | {ident}
    for name in sorted(os.listdir(d.encode())):
        path = os.path.join(d.encode(), name)
        show = name if shown == b'' else (shown + name if shown.endswith(b'/') else shown + b'/' + name)
        try:
            name.decode('utf-8')
        except UnicodeDecodeError:
            continue
        lst = os.lstat(path)
        if stat.S_ISLNK(lst.st_mode):
            if not follow:
                continue
            try:
                lst = os.stat(path)
            except OSError:
                continue
        if stat.S_ISDIR(lst.st_mode):
            walk(path.decode(), show, ancestors)
        elif stat.S_ISREG(lst.st_mode):
            out.append(show)
ops = sys.argv[2:] or ['.']
for op in ops:
    if os.path.isdir(op):
        walk(op, b'' if not sys.argv[2:] else op.encode(), frozenset())
    else:
        out.append(op.encode())
sys.stdout.buffer.write(b'\\0'.join(out))
`;
  const r = spawnSync('python3', ['-c', script, follow ? '1' : '0', ...operands], { cwd });
  expect(r.status, r.stderr.toString()).toBe(0);
  const text = r.stdout.toString('utf8');
  return text === '' ? [] : text.split('\0');
}

/** GNU grep over an explicit file list, in that order, from `cwd`. */
function gnu(args: string[], files: string[], cwd: string): { stdout: string; status: number | null } {
  const r = spawnSync('grep', ['-F', '-a', ...args, '--', ...files], { cwd, env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 26 });
  return { stdout: r.stdout.toString('utf8'), status: r.status };
}

/** The files GNU grep -r/-R itself visits (its order is readdir's), sorted. */
function gnuVisits(flag: '-r' | '-R', operands: string[], cwd: string): string[] {
  const r = spawnSync('grep', [flag, '-c', '', ...operands], { cwd, env: { ...process.env, LC_ALL: 'C' } });
  return r.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.slice(0, l.lastIndexOf(':')))
    .sort();
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pagewise-grep-r-'));
  tree = join(root, 'tree');
  const w = (path: string, content: string | Buffer): void => {
    mkdirSync(join(tree, path, '..'), { recursive: true });
    writeFileSync(join(tree, path), content);
  };
  w('a.txt', 'foo one\nbar\nfoo two\n');
  w('a/x.log', 'no\nfoo in a/x\n');
  // 'a-b' sorts before 'a/' as a whole path ('-' < '/'), after 'a' as a name: the order is per directory.
  w('a-b/x.log', 'foo in a-b\n');
  w('a.b', 'foo no newline at the end');
  w('B.txt', 'FOO upper\nfoo lower\r\n');
  w('.hidden', 'foo hidden\n');
  w('.git/config', 'foo in .git\n');
  w('deep/er/still/leaf.txt', 'x\nfoo deep\ny\nfoo again\n');
  w('sp ace/f é.txt', 'foo with a space and é\n');
  w('empty.txt', '');
  mkdirSync(join(tree, 'nothing-here'));
  // Longer than a 64 KiB chunk, with matches on both sides of chunk edges.
  w('big/large.txt', Array.from({ length: 40_000 }, (_, i) => (i % 7 === 0 ? `foo ${i}` : `line ${i}`)).join('\n') + '\n');
  symlinkSync('../a.txt', join(tree, 'deep', 'link-to-file'));
  symlinkSync('../a', join(tree, 'deep', 'link-to-dir'));
  symlinkSync('..', join(tree, 'deep', 'er', 'loop'));
  symlinkSync('/nonexistent/pagewise', join(tree, 'dangling'));
  spawnSync('mkfifo', [join(tree, 'fifo')]);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const CHUNKED = ['--threads', '2', '--chunk-size', '64KiB'];

describe('grep -r: the files under a directory, in name order', () => {
  it('reads the files GNU grep -r reads (not the links, FIFO or dangling link found on the way), in byte order per directory', () => {
    const files = pythonWalk(['tree'], false, root);
    expect(files.slice().sort()).toEqual(gnuVisits('-r', ['tree'], root));
    // The order is per directory, not of whole paths: tree/a/x.log before tree/a-b/x.log.
    expect(files.indexOf('tree/a/x.log')).toBeLessThan(files.indexOf('tree/a-b/x.log'));
    expect(files.slice().sort()).not.toEqual(files);
    expect(files).toContain('tree/.git/config');
    expect(files).not.toContain('tree/deep/link-to-file');
    const r = pagewise(['grep', '-r', '-L', 'no such text anywhere', 'tree', ...CHUNKED], { cwd: root });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(files.map((f) => `${f}\n`).join(''));
  });

  for (const flags of [[], ['-n'], ['-c'], ['-l'], ['-L'], ['-o'], ['-v', '-n'], ['-i', '-w'], ['-n', '-C', '1'], ['-m', '1', '-n']]) {
    it(`grep -r ${flags.join(' ')} foo tree: GNU grep's output over the same files`, () => {
      const files = pythonWalk(['tree'], false, root);
      const want = gnu(['-H', ...flags, 'foo'], files, root);
      const r = pagewise(['grep', '-r', ...flags, 'foo', 'tree', ...CHUNKED], { cwd: root });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(want.stdout);
      expect(r.status).toBe(want.status);
    });
  }

  it('-R follows every link, warns of the loop as GNU grep does, and reports the dangling link (exit 2, the rest still read)', () => {
    // GNU grep -R opens a FIFO it finds and waits on it: the comparison runs without one.
    const noFifo = join(root, 'nofifo');
    spawnSync('cp', ['-a', tree, noFifo]);
    rmSync(join(noFifo, 'fifo'));
    const files = pythonWalk(['nofifo'], true, root);
    expect(files.slice().sort()).toEqual(gnuVisits('-R', ['nofifo'], root));
    expect(files).toContain('nofifo/deep/link-to-file');
    expect(files).toContain('nofifo/deep/link-to-dir/x.log');
    const want = gnu(['-H', '-n', 'foo'], files, root);
    const gnuR = spawnSync('grep', ['-R', '-n', 'foo', 'nofifo'], { cwd: root, env: { ...process.env, LC_ALL: 'C' } });
    const r = pagewise(['grep', '-R', '-n', 'foo', 'nofifo', ...CHUNKED], { cwd: root });
    expect(r.stdout).toBe(want.stdout);
    expect(r.status).toBe(gnuR.status);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('pagewise: nofifo/deep/er/loop: warning: recursive directory loop\n');
    expect(gnuR.stderr.toString()).toContain('grep: nofifo/deep/er/loop: warning: recursive directory loop\n');
    expect(r.stderr).toMatch(/^pagewise: nofifo\/dangling: No such file or directory \(ENOENT\)$/m);
    // -s: neither the warning nor the error is printed; the status still says 2, as in grep.
    const quiet = pagewise(['grep', '-R', '-s', '-n', 'foo', 'nofifo'], { cwd: root });
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe(want.stdout);
    expect(quiet.status).toBe(2);
    // Without the dangling link, the loop alone leaves the status to the matches (0), as GNU grep's.
    rmSync(join(noFifo, 'dangling'));
    const loopOnly = pagewise(['grep', '-R', '-c', 'foo', 'nofifo'], { cwd: root });
    const gnuLoop = spawnSync('grep', ['-R', '-c', 'foo', 'nofifo'], { cwd: root, env: { ...process.env, LC_ALL: 'C' } });
    expect(loopOnly.status).toBe(0);
    expect(gnuLoop.status).toBe(0);
    expect(loopOnly.stdout.split('\n').sort()).toEqual(gnuLoop.stdout.toString().split('\n').sort());
    rmSync(noFifo, { recursive: true, force: true });
  });

  it('with no operand searches the current directory and names its files without ./, as grep does', () => {
    const files = pythonWalk([], false, tree);
    expect(files[0]).not.toMatch(/^\.\//);
    const want = gnu(['-H', '-n', 'foo'], files, tree);
    const r = pagewise(['grep', '-r', '-n', 'foo'], { cwd: tree });
    expect(r.stdout).toBe(want.stdout);
    expect(r.stdout.split('\n').sort()).toEqual(tool('bash', ['-c', `cd '${tree}' && grep -r -n foo`]).stdout.split('\n').sort());
    expect(r.status).toBe(0);
  });

  it('names files as grep does: not for a single file operand, yes for a directory or several operands; a trailing slash is not doubled', () => {
    const one = pagewise(['grep', '-r', 'foo', 'tree/a.txt'], { cwd: root });
    expect(one.stdout).toBe(tool('bash', ['-c', `cd '${root}' && grep -r foo tree/a.txt`]).stdout);
    expect(one.stdout).toBe('foo one\nfoo two\n');
    const slash = pagewise(['grep', '-r', 'foo', 'tree/deep/'], { cwd: root });
    expect(slash.stdout).toBe('tree/deep/er/still/leaf.txt:foo deep\ntree/deep/er/still/leaf.txt:foo again\n');
    const gnuSlash = tool('bash', ['-c', `cd '${root}' && grep -r foo tree/deep/`]);
    expect(slash.stdout).toBe(gnuSlash.stdout);
    const two = pagewise(['grep', '-r', '-c', 'foo', 'tree/a.txt', 'tree/a'], { cwd: root });
    expect(two.stdout).toBe('tree/a.txt:2\ntree/a/x.log:1\n');
    // --no-filename wins, as grep's -h.
    expect(pagewise(['grep', '-r', '--no-filename', 'foo', 'tree/a'], { cwd: root }).stdout).toBe('foo in a/x\n');
    // A link to a directory given on the command line is followed by -r too.
    expect(pagewise(['grep', '-r', 'foo', 'tree/deep/link-to-dir'], { cwd: root }).stdout).toBe('tree/deep/link-to-dir/x.log:foo in a/x\n');
  });

  it('--output, --json and a missing operand', () => {
    const out = join(root, 'out.txt');
    const files = pythonWalk(['tree'], false, root);
    const r = pagewise(['grep', '-r', 'foo', 'tree', '--output', out, ...CHUNKED], { cwd: root });
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(gnu(['-H', 'foo'], files, root).stdout);
    const json = pagewise(['grep', '-r', '-c', '--json', 'foo', 'tree/a', 'tree/a-b'], { cwd: root });
    expect(JSON.parse(json.stdout)).toEqual({ files: [{ file: 'tree/a/x.log', count: 1 }, { file: 'tree/a-b/x.log', count: 1 }] });
    // Nothing to read: an empty output and exit 1, as grep -r over an empty directory exits.
    writeFileSync(out, 'old');
    const nothing = pagewise(['grep', '-r', 'foo', 'tree/nothing-here', '--output', out], { cwd: root });
    expect([nothing.status, nothing.stderr, readFileSync(out, 'utf8')]).toEqual([1, '', '']);
    expect(tool('grep', ['-r', 'foo', join(tree, 'nothing-here')]).status).toBe(1);
    expect(pagewise(['grep', '-r', '--exclude=*', 'foo', 'tree', '--output', out], { cwd: root }).status).toBe(1);
    const missing = pagewise(['grep', '-r', 'foo', 'tree/a', 'nope'], { cwd: root });
    expect(missing.stdout).toBe('tree/a/x.log:foo in a/x\n');
    expect(missing.stderr).toBe('pagewise: nope: No such file or directory (ENOENT)\n');
    expect(missing.status).toBe(2);
  });

  it('a name that is not UTF-8 is reported with its bytes and skipped; the other files are read (exit 2)', () => {
    const odd = join(root, 'odd');
    mkdirSync(odd);
    writeFileSync(join(odd, 'ok.txt'), 'foo\n');
    // Node writes a Buffer path's bytes as they are.
    writeFileSync(Buffer.concat([Buffer.from(`${odd}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'foo\n');
    const r = pagewise(['grep', '-r', 'foo', 'odd'], { cwd: root });
    expect(r.stdout).toBe('odd/ok.txt:foo\n');
    expect(r.stderr).toBe("pagewise: 'odd/caf\\351.txt': the name is not valid UTF-8, which Node.js cannot pass on: skipped (read it as standard input, - < FILE) (ERR_PAGEWISE_UNSUPPORTED)\n");
    expect(r.status).toBe(2);
  });

  it('--include, --exclude, --exclude-from and --exclude-dir skip what GNU grep skips (names in UTF-8: ? is one character)', () => {
    const exFrom = join(root, 'exclude-from');
    writeFileSync(exFrom, '*.log\n\n   \nB*  \n');
    const cases: string[][] = [
      ['--include=*.txt'],
      ['--include=*.log', '--include=*.b'],
      ['--exclude=*.txt'],
      ['--exclude=a*', '--include=*.txt'],
      ['--include=*.txt', '--exclude=a*'],
      ['--include=[!a]*'],
      ['--include=[a-c]*'],
      ['--include=[z-a]*'],
      ['--include=?.b'],
      ['--include=[[:upper:]]*'],
      ['--include=*.[lt]?[gt]'],
      ['--exclude=['],
      ['--include=[]a]*'],
      ['--exclude=.*'],
      ['--exclude=*/x.log'],
      ['--include=f ?.txt'],
      ['--include=*é*'],
      ['--include=\\*.txt'],
      [`--exclude-from=${exFrom}`],
      ['--exclude-dir=a'],
      ['--exclude-dir=deep/'],
      ['--exclude-dir=.*', '--exclude-dir=?-b'],
      ['--exclude-dir=tree'],
      ['--exclude-dir=*', '--include=*.txt'],
    ];
    const env = { LC_ALL: 'C.UTF-8' };
    for (const flags of cases) {
      for (const [operands, cwd] of [[['tree'], root], [[], tree], [['tree/a.txt', 'tree/a.b', 'tree/a', 'tree/big/large.txt'], root]] as const) {
        const args = ['-r', '-c', ...flags, 'foo', ...operands];
        const want = spawnSync('grep', args, { cwd, env: { ...process.env, ...env } });
        const r = pagewise(['grep', ...args], { cwd, env });
        const what = `grep ${args.join(' ')} (in ${cwd === root ? 'root' : 'tree'})`;
        expect(r.stderr, what).toBe('');
        expect(r.stdout.split('\n').sort(), what).toEqual(want.stdout.toString('utf8').split('\n').sort());
        expect(r.status, what).toBe(want.status);
      }
    }
    // Without -r, on the files given (a name's part after a /), and never standard input.
    for (const flags of [['--exclude=a.txt'], ['--exclude=tree/a.txt'], ['--exclude=ree/a.txt'], ['--include=*.b'], ['--exclude-dir=a']]) {
      const args = ['-c', ...flags, 'foo', 'tree/a.txt', 'tree/a.b', 'tree/a', '-'];
      const want = spawnSync('grep', args, { cwd: root, input: 'foo\n', env: { ...process.env, ...env } });
      const r = pagewise(['grep', ...args], { cwd: root, input: 'foo\n', env });
      expect(r.stdout, args.join(' ')).toBe(want.stdout.toString('utf8'));
      expect(r.status, args.join(' ')).toBe(want.status);
    }
    const missing = pagewise(['grep', '-r', '--exclude-from', join(root, 'nope'), 'foo', 'tree'], { cwd: root });
    expect(missing.stderr).toMatch(/^pagewise: .*nope: No such file or directory \(ENOENT\)\n/);
    expect(missing.status).toBe(2);
  });

  it('without -r a directory is still an error, as in grep', () => {
    const r = pagewise(['grep', 'foo', 'tree/a'], { cwd: root });
    expect(r.stderr).toBe("pagewise: 'tree/a' is a directory, not a regular file (ERR_PAGEWISE_NOT_REGULAR_FILE)\n");
    expect(r.status).toBe(2);
    expect(pagewise(['grep', 'foo'], { cwd: root }).stderr).toMatch(/with -r, none is the current directory/);
  });
});
