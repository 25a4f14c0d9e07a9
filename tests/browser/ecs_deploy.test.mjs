// Deploy from the dashboard with the ecs deployer (serve --deployer ecs against moto behind the
// AWS proxy, which plays a real rollout): the steps show live, then the agent's AWS resources
// with console links and its Voice URL; a failed step shows AWS's message. Real headless
// Chromium.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { tempDir, startServer, login } from '../integration/lib/server.mjs';
import { startMoto, makeEcsInfrastructure } from '../integration/lib/moto.mjs';
import { startAwsProxy } from '../integration/lib/aws_proxy.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PASSWORD = 'ecs-browser-password-1';
let context;
after(async () => { await context?.close(); });

async function createAgent(server, agentId) {
  const { cookie, csrf } = await login(server, PASSWORD);
  const r = await fetch(`${server.base}/api/v1/agents`, {
    method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
    body: JSON.stringify({ agentId, agentName: `Line ${agentId}`, engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' }),
  });
  assert.equal(r.status, 201, await r.text());
}

test('deploy from the dashboard to ECS: steps live, then the resources and the Voice URL', async () => {
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.port);
  proxy.setRollout({ polls: 3 });  // three answers IN_PROGRESS: the wait is seen as it goes
  const data = tempDir('tempo-ecs-browser-');
  const settings = join(data, 'terraform-output.json');
  await makeEcsInfrastructure(moto, settings);
  const server = await startServer(data, ['--deployer', 'ecs', '--ecs-settings', settings,
    '--aws-endpoint', proxy.url, '--ecs-wait-poll-s', '1'], { env: { ...moto.env, TEMPO_ADMIN_PASSWORD: PASSWORD } });
  try {
    await createAgent(server, 'browser-line');
    await createAgent(server, 'browser-fails');

    mkdirSync(join(data, 'profile'));
    context = await chromium.launchPersistentContext(join(data, 'profile'), {
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(20000);
    await page.goto(`${server.base}/dashboard/login`);
    await page.getByLabel('Email').fill('admin@localhost');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.waitForURL((url) => !url.pathname.endsWith('/login'));

    await page.goto(`${server.base}/dashboard/agents/browser-line`);
    await page.locator('#resources').filter({ hasText: 'Deployer: ecs' }).waitFor();
    await page.locator('#deploy').click();
    // Live: the last step runs with the rollout's state before the deployment is ready.
    await page.locator('.steps li.running').filter({ hasText: /healthy.*rollout IN_PROGRESS/ }).waitFor();
    await page.locator('#deploy-state').filter({ hasText: 'ready' }).waitFor();
    assert.equal(await page.locator('.steps li.done').count(), 8);
    assert.match(await page.locator('.steps li').nth(3).innerText(), /task definition — tempo-agent-browser-line:1 registered/);

    // The resources, with their AWS console links, and the Voice URL on the load balancer.
    await page.locator('#resources').filter({ hasText: '1 of 1 running, rollout COMPLETED' }).waitFor();
    const text = await page.locator('#resources').innerText();
    assert.match(text, /tempo-agent-transcripts-browser-line/);
    assert.match(text, /\/agent\/browser-line\/\* → priority \d+/);
    assert.match(text, /\(healthy\)/);
    const links = await page.locator('#resources a').evaluateAll((as) => as.map((a) => a.href));
    assert.ok(links.length >= 7, links.join('\n'));
    assert.ok(links.some((l) => l.startsWith('https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/tempo-voice-cluster/services/tempo-agent-browser-line')), links.join('\n'));
    assert.equal(await page.locator('#voice-url').innerText(), 'https://voice.example.com/agent/browser-line/incoming-call');

    // A step AWS refuses: the failing step and AWS's message.
    proxy.inject({ operation: 'CreateTargetGroup', status: 503, times: 1 });
    await page.goto(`${server.base}/dashboard/agents/browser-fails`);
    await page.locator('#deploy').click();
    await page.locator('#deploy-state').filter({ hasText: 'failed' }).waitFor();
    const failed = await page.locator('.steps li.failed').innerText();
    assert.match(failed, /target group — step 'target group' failed: elbv2 CreateTargetGroup: ServiceUnavailable: Service is unavailable/);
    assert.match(failed, /rolled back: deregistered .*tempo-agent-browser-fails:1/);
    // The page shows the last deployment's log when it opens again.
    await page.reload();
    await page.locator('.steps li.failed').filter({ hasText: 'ServiceUnavailable' }).waitFor();
  } finally {
    await server.stop();
    proxy.close();
    moto.stop();
  }
});
