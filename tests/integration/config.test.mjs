// Configuration of `serve`: flags > environment > config file > defaults, validated at start-up
// with one message naming the bad setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, tempDir } from './lib/server.mjs';

function run(args, env = {}) {
  const r = spawnSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('a flag beats the environment, which beats the config file', () => {
  const dir = tempDir();
  const conf = join(dir, 'tempovoice.conf');
  writeFileSync(conf, `# comment\nport = 0\ndata-dir = "${join(dir, 'file')}"\nlog-level = warn\n`);
  const direct = spawnSync(BIN, ['serve', '--config', conf], { env: { ...process.env }, timeout: 1500, encoding: 'utf8' });
  assert.match(direct.stdout, /listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.ok(existsSync(join(dir, 'file', 'tempo.db')), 'data-dir from the file');

  spawnSync(BIN, ['serve', '--config', conf], { env: { ...process.env, TEMPO_DATA_DIR: join(dir, 'env') }, timeout: 1500 });
  assert.ok(existsSync(join(dir, 'env', 'tempo.db')), 'the environment beats the file');

  spawnSync(BIN, ['serve', '--config', conf, '--data-dir', join(dir, 'flag')], { env: { ...process.env, TEMPO_DATA_DIR: join(dir, 'env2') }, timeout: 1500 });
  assert.ok(existsSync(join(dir, 'flag', 'tempo.db')), 'the flag beats the environment');
  assert.ok(!existsSync(join(dir, 'env2')));
});

test('a bad setting stops the start with one message naming it', () => {
  const dir = tempDir();
  const cases = [
    [['serve', '--log-level', 'loud'], {}, /log-level: 'loud' is not one of/],
    [['serve', '--public-url', 'ftp://x'], {}, /public-url: 'ftp:\/\/x' must start with http/],
    [['serve'], { TEMPO_PORT: 'abc' }, /--port/],
    [['serve', '--request-timeout-ms', '5'], {}, /--request-timeout-ms/],
    [['serve', '--turn-hangover-ms', '410'], {}, /turn-hangover-ms: 410 is not a multiple of 20/],
    [['serve'], { TEMPO_SILENCE_TIMEOUT_MS: '100' }, /--silence-timeout-ms/],
  ];
  for (const [args, env, pattern] of cases) {
    const r = run([...args, '--data-dir', join(dir, 'd')], env);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, pattern);
    assert.equal(r.out.includes('listening'), false);
  }
  writeFileSync(join(dir, 'bad.conf'), 'prot = 3000\n');
  const r = run(['serve', '--config', join(dir, 'bad.conf')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /bad\.conf line 1: unknown setting 'prot'/);
});

test('an invalid agent file is named with its bad fields', () => {
  const dir = tempDir();
  const agents = join(dir, 'agents');
  spawnSync('mkdir', ['-p', agents]);
  writeFileSync(join(agents, 'broken.json'), JSON.stringify({ agentId: 'Bad Id', agentName: 'x', callPhoneNumber: '555' }));
  const r = run(['serve', '--port', '0', '--data-dir', dir]);
  assert.equal(r.code, 2);
  assert.match(r.err, /broken\.json: agentId must be .*; callPhoneNumber must be an E\.164/);
});

test('--help lists every setting with its environment variable', () => {
  const r = run(['serve', '--help']);
  assert.equal(r.code, 0);
  for (const name of ['--port', '--data-dir', '--public-url', '--config', 'TEMPO_PORT', 'TEMPO_DATA_DIR']) {
    assert.ok(r.out.includes(name), name);
  }
  assert.match(run(['--help']).out, /serve/);
});

test('migrate brings the database schema up to date, once', () => {
  const dir = tempDir();
  const first = run(['migrate', '--data-dir', dir]);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /schema version 0 -> \d+ \(\d+ migration\(s\) applied\)/);
  const again = run(['migrate', '--data-dir', dir]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /\(0 migration\(s\) applied\)/);
  const bad = run(['migrate', '--database-url', 'postgres://user:hunter2@127.0.0.1:1/none']);
  assert.notEqual(bad.code, 0);
  assert.ok(!bad.err.includes('hunter2'), 'the password is not printed');
});
