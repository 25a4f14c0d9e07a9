// The ecs deployer driven by `tempovoice deploy | status | undeploy` and by `serve --deployer
// ecs` (the dashboard's Deploy button), against moto behind the AWS proxy (rollouts, faults);
// what it made is read back with boto3.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BIN, tempDir, writeAgent, startServer, createDeployedAgent, run } from './lib/server.mjs';
import { startMoto, makeEcsInfrastructure } from './lib/moto.mjs';
import { startAwsProxy } from './lib/aws_proxy.mjs';

let moto, proxy, settingsFile;

before(async () => {
  moto = await startMoto();
  proxy = await startAwsProxy(moto.port);
  proxy.setRollout({ polls: 0 });  // a rollout that completes at once: the tests need no wait
  settingsFile = join(tempDir('tempo-ecs-'), 'terraform-output.json');
  await makeEcsInfrastructure(moto, settingsFile);
});

after(() => { proxy?.close(); moto?.stop(); });

const ecsArgs = () => ['--ecs-settings', settingsFile, '--aws-endpoint', proxy.url, '--ecs-wait-poll-s', '1'];

function seen(agent) {
  return moto.boto3(`
agent = '${agent}'
s3 = client('s3')
ecs = client('ecs')
out = {'bucket': ('tempo-agent-transcripts-' + agent) in [b['Name'] for b in s3.list_buckets()['Buckets']]}
services = ecs.describe_services(cluster='tempo-voice-cluster', services=['tempo-agent-' + agent])['services']
out['service'] = [s['serviceArn'] for s in services if s['status'] == 'ACTIVE']
out['task_definitions'] = ecs.list_task_definitions(familyPrefix='tempo-agent-' + agent, status='ACTIVE')['taskDefinitionArns']
out['secrets'] = [s['Name'] for s in client('secretsmanager').list_secrets()['SecretList'] if agent in s['Name']]
print(json.dumps(out))
`);
}

test('tempovoice deploy, status and undeploy drive the ecs deployer for an agent file', async () => {
  const data = tempDir('tempo-ecs-cli-');
  writeAgent(data, { agentId: 'cli-line', agentName: 'CLI Line' });
  const common = ['--data-dir', data, ...ecsArgs()];

  const deployed = await run(BIN, ['deploy', 'cli-line', ...common, '--json'], { env: moto.env });
  assert.equal(deployed.code, 0, deployed.err);
  const result = JSON.parse(deployed.out);
  assert.equal(result.success, true);
  assert.equal(result.agentId, 'cli-line');
  assert.equal(result.s3BucketName, 'tempo-agent-transcripts-cli-line');
  assert.match(result.taskDefinitionArn, /task-definition\/tempo-agent-cli-line:1$/);
  assert.match(result.serviceArn, /service\/tempo-voice-cluster\/tempo-agent-cli-line$/);
  assert.equal(result.voiceUrl, 'https://voice.example.com/agent/cli-line/incoming-call');
  const made = await seen('cli-line');
  assert.deepEqual(made.service, [result.serviceArn]);
  assert.equal(made.bucket, true);

  // Again, not in a terminal: one plain line per step, nothing changed.
  const again = await run(BIN, ['deploy', join(data, 'agents', 'cli-line.json'), ...common], { env: moto.env });
  assert.equal(again.code, 0, again.err);
  const lines = again.out.trim().split('\n');
  assert.match(lines[0], /^\[1\/8\] bucket: done in \d+\.\d s: tempo-agent-transcripts-cli-line: versioned/);
  assert.match(again.out, /\[4\/8\] task definition: done in .*tempo-agent-cli-line:1 unchanged/);
  assert.match(again.out, /\[6\/8\] service: done in .*tempo-agent-cli-line unchanged on Fargate/);
  assert.match(again.out, /\[8\/8\] healthy: done in .*1 healthy target/);
  assert.match(again.out, /Twilio Voice URL .*: https:\/\/voice\.example\.com\/agent\/cli-line\/incoming-call/);

  const status = await run(BIN, ['status', 'cli-line', ...common, '--json'], { env: moto.env });
  assert.equal(status.code, 0, status.err);
  const state = JSON.parse(status.out);
  assert.equal(state.service.rollout, 'COMPLETED');
  assert.equal(state.service.taskDefinition, result.taskDefinitionArn);
  assert.deepEqual(state.targetGroup.targets.map((t) => t.state), ['healthy']);
  assert.equal(state.listenerRule.path, '/agent/cli-line/*');
  assert.deepEqual(state.scaling, { min: 1, max: 2 });

  const undeployed = await run(BIN, ['undeploy', 'cli-line', ...common], { env: moto.env });
  assert.equal(undeployed.code, 0, undeployed.err);
  assert.match(undeployed.out, /\[5\/5\] secret: done/);
  const left = await seen('cli-line');
  assert.deepEqual(left, { bucket: true, service: [], task_definitions: [], secrets: [] });
  const gone = JSON.parse((await run(BIN, ['status', 'cli-line', ...common, '--json'], { env: moto.env })).out);
  assert.equal(gone.service, null);
  assert.equal(gone.bucket, 'tempo-agent-transcripts-cli-line', 'the calls stay');

  const purged = await run(BIN, ['undeploy', 'cli-line', ...common, '--purge'], { env: moto.env });
  assert.equal(purged.code, 0, purged.err);
  assert.match(purged.out, /\[6\/6\] bucket: done in .*tempo-agent-transcripts-cli-line deleted/);
  assert.equal((await seen('cli-line')).bucket, false, 'asked to purge: the bucket is gone');
});

test('a failed deploy names the step and AWS says why; bad settings are refused at start', async () => {
  const data = tempDir('tempo-ecs-fail-');
  writeAgent(data, { agentId: 'no-image' });
  const bad = await run(BIN, ['deploy', 'no-image', '--data-dir', data, ...ecsArgs(), '--ecs-image-tag', 'v9.9.9'],
    { env: moto.env });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /step 'image' failed: image tag v9\.9\.9 is not in the ECR repository tempo-voice-agents/);
  assert.match(bad.err, /rolled back: deleted bucket tempo-agent-transcripts-no-image/);
  assert.match(bad.out, /\[2\/8\] image: FAILED/);

  const serve = await run(BIN, ['serve', '--port', '0', '--data-dir', data, '--deployer', 'ecs',
    '--ecs-settings', settingsFile, '--ecs-listener-arn', 'arn:aws:iam::123456789012:role/x'], { env: moto.env });
  assert.equal(serve.code, 2);
  assert.match(serve.err, /--deployer ecs: ECS setting listener_arn: .* is not the ARN of an application load balancer's listener/);
  const missing = await run(BIN, ['deploy', 'no-image', '--data-dir', data], { env: moto.env });
  assert.equal(missing.code, 2);
  assert.match(missing.err, /ECS settings missing: region, cluster_name/);
});

test('serve --deployer ecs: the API\'s Deploy puts the agent on ECS', async () => {
  const data = tempDir('tempo-ecs-serve-');
  const password = 'ecs-deploy-password-123';
  const server = await startServer(data, ['--deployer', 'ecs', ...ecsArgs()],
    { env: { ...moto.env, TEMPO_ADMIN_PASSWORD: password } });
  try {
    await createDeployedAgent(server, password, {
      agentId: 'api-line', agentName: 'API Line', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef',
      fargateSpot: true, maxTasks: 3 });
    const made = await seen('api-line');
    assert.equal(made.service.length, 1, JSON.stringify(made));
    assert.equal(made.secrets.length, 1);
    const spot = proxy.requests().filter((r) => r.operation === 'CreateService')
      .map((r) => JSON.parse(r.body)).find((b) => b.serviceName === 'tempo-agent-api-line');
    assert.equal(spot.capacityProviderStrategy[0].capacityProvider, 'FARGATE_SPOT');
    assert.doesNotMatch(server.logs(), /AddressSanitizer|runtime error:|LeakSanitizer/);
  } finally {
    await server.stop();
  }
});
