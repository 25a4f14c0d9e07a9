// Call artefacts in S3 (serve --object-store s3) against moto with signature checking on; what
// landed is read back with boto3, not with our client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, writeAgent, startServer, callerLine, callOnce, sleep, createDeployedAgent, login } from './lib/server.mjs';
import { startMoto, startProxy } from './lib/moto.mjs';
import { startAwsProxy } from './lib/aws_proxy.mjs';

const kArtefacts = ['transcript.json', 'metadata.json', 'recording.wav'];

// The call's objects as boto3 sees them (polled until all three are there or `timeoutMs`).
async function artefactsInS3(moto, bucket, sid, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const seen = await moto.boto3(`
s3 = client('s3')
names = [b['Name'] for b in s3.list_buckets()['Buckets']]
listed = s3.list_objects_v2(Bucket='${bucket}').get('Contents', []) if '${bucket}' in names else []
keys = [o['Key'] for o in listed if o['Key'].startswith('calls/${sid}/')]  # moto refuses a Prefix with '/'
out = {'keys': sorted(keys)}
if len(keys) == 3:
    for name in ['transcript.json', 'metadata.json', 'recording.wav']:
        o = s3.get_object(Bucket='${bucket}', Key='calls/${sid}/' + name)
        body = o['Body'].read()
        out[name] = {'etag': o['ETag'].strip('"'), 'md5': hashlib.md5(body).hexdigest(),
                     'type': o['ContentType'], 'size': len(body),
                     'text': body.decode() if name.endswith('.json') else None,
                     'head': list(body[:44])}
print(json.dumps(out))
`);
    if (seen.keys.length === 3 || Date.now() >= until) return seen;
    await sleep(200);
  }
}

test('a call through serve --object-store s3 stores its three artefacts in the agent bucket', async () => {
  const moto = await startMoto();
  const data = tempDir('tempo-s3-');
  const password = 's3-store-password-123';
  const server = await startServer(data, ['--object-store', 's3', '--s3-endpoint', moto.url,
    '--s3-bucket-prefix', 'it-'], { env: { ...moto.env, TEMPO_ADMIN_PASSWORD: password } });
  try {
    // An agent of the admin's organisation: its calls are in the call list and the API.
    const agent = await createDeployedAgent(server, password, {
      agentId: 's3-line', agentName: 'S3 Line', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' });
    const wav = await callerLine(data);
    const sid = (await callOnce(server, agent, wav, 4)).call_sid;
    const bucket = `it-tempo-agent-transcripts-${agent.agentId}`;
    const seen = await artefactsInS3(moto, bucket, sid, 30000);
    assert.deepEqual(seen.keys, kArtefacts.map((n) => `calls/${sid}/${n}`).sort());
    for (const name of kArtefacts) {
      assert.equal(seen[name].etag, seen[name].md5, `${name}: what arrived is what was sent`);
    }
    assert.equal(seen['transcript.json'].type, 'application/json');
    assert.equal(seen['recording.wav'].type, 'audio/wav');
    const transcript = JSON.parse(seen['transcript.json'].text);
    assert.equal(transcript.callSid, sid);
    assert.equal(transcript.status, 'complete');
    assert.ok(transcript.turns.length > 0, seen['transcript.json'].text);
    const metadata = JSON.parse(seen['metadata.json'].text);
    assert.equal(metadata.callSid, sid);
    assert.equal(metadata.outcome, 'completed');
    assert.equal(metadata.recording.channels, 2);
    const head = Buffer.from(seen['recording.wav'].head);
    assert.equal(head.toString('ascii', 0, 4), 'RIFF');
    assert.equal(head.readUInt16LE(22), 2, 'stereo: caller left, agent right');
    assert.equal(head.readUInt32LE(24), 8000);
    assert.equal(head.readUInt32LE(40) + 44, seen['recording.wav'].size, 'the header says the whole file');

    // The API (and the dashboard's player) reads the recording from S3 by ranges.
    const { cookie } = await login(server, password);
    let listed;
    for (let i = 0; i < 150 && !listed; i++) {
      const r = await fetch(`${server.base}/api/v1/calls/${sid}`, { headers: { Cookie: cookie } });
      if (r.status === 200 && (await r.clone().json()).hasRecording) listed = await r.json(); else await sleep(100);
    }
    assert.ok(listed, 'the call is in the call list');
    const ranged = await fetch(`${server.base}${listed.recordingUrl}`, { headers: { Cookie: cookie, Range: 'bytes=0-43' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-43/${seen['recording.wav'].size}`);
    assert.deepEqual([...Buffer.from(await ranged.arrayBuffer())], seen['recording.wav'].head);
    const whole = await fetch(`${server.base}${listed.recordingUrl}`, { headers: { Cookie: cookie } });
    assert.equal(whole.status, 200);
    assert.equal((await whole.arrayBuffer()).byteLength, seen['recording.wav'].size);
    assert.doesNotMatch(server.logs(), /AddressSanitizer|runtime error:|LeakSanitizer/);
  } finally {
    await server.stop();
    moto.stop();
  }
});

test('S3 stops answering during a call: the call ends normally, its artefacts arrive once S3 is back', async () => {
  const moto = await startMoto();
  const proxy = await startProxy(moto.port);
  const data = tempDir('tempo-s3-outage-');
  const agent = writeAgent(data, { agentId: 's3-outage-line' });
  const server = await startServer(data, ['--object-store', 's3', '--s3-endpoint', proxy.url], { env: moto.env });
  try {
    const wav = await callerLine(data);
    proxy.pause();
    const report = await callOnce(server, agent, wav, 3);
    assert.equal(report.outcome, 'caller_hung_up');
    const bucket = `tempo-agent-transcripts-${agent.agentId}`;
    for (let i = 0; i < 300 && !/artefacts not stored yet/.test(server.logs()); i++) await sleep(100);
    assert.match(server.logs(), /artefacts not stored yet; retrying until they are/);
    assert.deepEqual((await artefactsInS3(moto, bucket, report.call_sid, 0)).keys, [], 'nothing got through');

    // What the fs store would write for this very call: the spool as it is now, given to a
    // server with the default store, whose upload worker writes the call into objects/.
    const twinData = tempDir('tempo-s3-twin-');
    cpSync(join(data, 'agents'), join(twinData, 'agents'), { recursive: true });
    cpSync(join(data, 'spool'), join(twinData, 'spool'), { recursive: true });
    const twin = await startServer(twinData);
    const onDisk = join(twinData, 'objects', bucket, 'calls', report.call_sid);
    for (let i = 0; i < 300 && !kArtefacts.every((n) => existsSync(join(onDisk, n))); i++) await sleep(100);
    await twin.stop();  // each file is renamed into place whole: seen = complete
    const fsWrote = Object.fromEntries(kArtefacts.map((n) => {
      const body = readFileSync(join(onDisk, n));
      return [n, { md5: createHash('md5').update(body).digest('hex'), size: body.length }];
    }));

    proxy.resume();
    const seen = await artefactsInS3(moto, bucket, report.call_sid, 40000);
    assert.equal(seen.keys.length, 3, `after the outage: ${JSON.stringify(seen.keys)}\n${server.logs().slice(-3000)}`);
    for (const name of kArtefacts) {
      assert.equal(seen[name].etag, seen[name].md5, `${name}: complete`);
      assert.deepEqual({ md5: seen[name].md5, size: seen[name].size }, fsWrote[name],
        `${name}: byte for byte what the fs store writes`);
    }
    assert.equal(JSON.parse(seen['metadata.json'].text).outcome, 'completed', 'not relabelled');
    assert.match(server.logs(), /stored after a retry/);
    assert.doesNotMatch(server.logs(), /AddressSanitizer|runtime error:|LeakSanitizer/);
  } finally {
    await server.stop();
    proxy.close();
    moto.stop();
  }
});

test('connections are kept alive: ten calls\' uploads share a few connections', async () => {
  const moto = await startMoto();
  // moto closes every connection after one answer; S3 keeps them open, as this proxy does.
  const proxy = await startAwsProxy(moto.port);
  const data = tempDir('tempo-s3-keepalive-');
  const agent = writeAgent(data, { agentId: 's3-keepalive-line' });
  const server = await startServer(data, ['--object-store', 's3', '--s3-endpoint', proxy.url], { env: moto.env });
  try {
    const wav = await callerLine(data);
    const reports = await Promise.all(Array.from({ length: 10 }, () => callOnce(server, agent, wav, 2)));
    const bucket = `tempo-agent-transcripts-${agent.agentId}`;
    for (const { call_sid: sid } of reports) {
      const seen = await artefactsInS3(moto, bucket, sid, 30000);
      assert.equal(seen.keys.length, 3, `${sid}: ${JSON.stringify(seen.keys)}`);
    }
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    const requests = Number(metrics.match(/^tempo_aws_requests_total (\d+)/m)[1]);
    assert.ok(requests >= 30, `three PUTs per call went through: ${requests}`);
    // Uploads run on the two blocking threads and the upload worker: never more at once.
    assert.ok(proxy.connections() <= 4, `${proxy.connections()} connections for ${requests} requests`);
    assert.equal(Number(metrics.match(/^tempo_http_pool_connections_opened_total (\d+)/m)[1]), proxy.connections());
  } finally {
    await server.stop();
    proxy.close();
    moto.stop();
  }
});
