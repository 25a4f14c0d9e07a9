// Call artefacts in S3 (serve --object-store s3) against moto with signature checking on; what
// landed is read back with boto3, not with our client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, tempDir, writeAgent, startServer, run, callerLine, sleep } from './lib/server.mjs';
import { startMoto } from './lib/moto.mjs';

test('a call through serve --object-store s3 stores its three artefacts in the agent bucket', async () => {
  const moto = await startMoto();
  const data = tempDir('tempo-s3-');
  const agent = writeAgent(data, { agentId: 's3-line' });
  const server = await startServer(data, ['--object-store', 's3', '--s3-endpoint', moto.url,
    '--s3-bucket-prefix', 'it-'], { env: moto.env });
  try {
    const wav = await callerLine(data);
    const call = await run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
      '--auth-token', agent.twilioAuthToken, '--wav', wav, '--hangup-after', '4', '--json']);
    assert.equal(call.code, 0, call.err + call.out);
    const sid = JSON.parse(call.out).call_sid;
    const bucket = `it-tempo-agent-transcripts-${agent.agentId}`;
    let seen;
    for (let i = 0; i < 100; i++) {
      seen = await moto.boto3(`
s3 = client('s3')
keys = [o['Key'] for o in s3.list_objects_v2(Bucket='${bucket}').get('Contents', [])] if '${bucket}' in [b['Name'] for b in s3.list_buckets()['Buckets']] else []
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
      if (seen.keys.length === 3) break;
      await sleep(100);
    }
    assert.deepEqual(seen.keys, ['transcript.json', 'metadata.json', 'recording.wav'].map((n) => `calls/${sid}/${n}`).sort());
    for (const name of ['transcript.json', 'metadata.json', 'recording.wav']) {
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
    assert.doesNotMatch(server.logs(), /AddressSanitizer|runtime error:|LeakSanitizer/);
  } finally {
    await server.stop();
    moto.stop();
  }
});
