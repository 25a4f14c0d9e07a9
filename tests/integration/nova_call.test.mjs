// A nova_sonic agent through `serve`, with Bedrock played by the emulator (tests/fakes/bedrock,
// which checks every signature with AWS's own packages): `tempovoice call` is greeted, asks for
// a person, and the agent's transfer_call becomes a <Dial>; the call leaves a transcript of both
// roles and a stereo recording.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBedrockEmulator, DEFAULT_CREDENTIALS } from '../fakes/bedrock/emulator.mjs';
import { BIN, tempDir, writeAgent, startServer, run, artefacts } from './lib/server.mjs';

test('a nova_sonic call through serve: greeting, a spoken turn, a transfer, artefacts', async (t) => {
  const bedrock = await startBedrockEmulator({
    script: [
      { user: '(connected)', reply: 'Thanks for calling Bright Smile, how can I help?' },
      { user: 'Can I talk to a person please?', tool: { name: 'transfer_call', input: { reason: 'asked for a person' } }, reply: 'Connecting you now.' },
    ],
  });
  t.after(() => bedrock.close());
  const data = tempDir('tempo-nova-');
  const agent = writeAgent(data, {
    agentId: 'nova-line', engine: 'nova_sonic', voiceId: 'tiffany',
    firstMessage: 'Thanks for calling Bright Smile, how can I help?', transferPhoneNumber: '+14155550123',
  });
  const server = await startServer(data, ['--bedrock-endpoint', bedrock.url], {
    env: {
      AWS_ACCESS_KEY_ID: DEFAULT_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DEFAULT_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  try {
    const call = await run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
      '--auth-token', agent.twilioAuthToken, '--say', 'Can I talk to a person please?', '--max-duration', '30', '--json']);
    const report = JSON.parse(call.out);
    assert.equal(report.outcome, 'transferred', `${call.out}\n${server.logs()}`);
    assert.equal(report.transfer_target, '+14155550123');
    assert.ok(report.frames_received > 25, 'the caller heard the agent');
    assert.deepEqual(bedrock.stats.rejected, []);
    assert.deepEqual(bedrock.stats.toolResults.map((r) => r.name), ['transfer_call']);
    const { transcript, metadata, recording } = await artefacts(data, agent.agentId, report.call_sid);
    assert.equal(metadata.outcome, 'transferred');
    const lines = transcript.turns.map((turn) => `${turn.role}: ${turn.text}`);
    assert.ok(lines.includes('agent: Thanks for calling Bright Smile, how can I help?'), lines.join('\n'));
    assert.ok(lines.includes('caller: Can I talk to a person please?'), lines.join('\n'));
    assert.equal(recording.channels, 2);
  } finally {
    await server.stop();
  }
});
