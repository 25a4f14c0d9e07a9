// moto_server (AWS's services, emulated) for a test, with signature checking on: the first four
// requests may be unsigned (they make a user with an allow-all policy and its keys); every
// later one is checked with botocore. What we stored is read back with boto3, AWS's own SDK.
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const running = new Set();
after(() => { for (const child of running) child.kill('SIGKILL'); });

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
    server.on('error', reject);
  });
}

function accepting(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** Runs a Python program; resolves with what it printed, parsed as JSON. */
export function python(program) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', program]);
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`python exited ${code}: ${err}`)); return; }
      try { resolve(JSON.parse(out)); } catch (e) { reject(new Error(`python printed ${out}: ${e.message}`)); }
    });
  });
}

/** Starts moto_server; resolves with its URL, the keys of its user, boto3() and stop(). */
export async function startMoto(region = 'eu-west-1') {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: '4' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  for (let i = 0; i < 300 && !(await accepting(port)); i++) await new Promise((r) => setTimeout(r, 100));
  const url = `http://127.0.0.1:${port}`;
  const prelude = (key, secret) => `
import boto3, json, hashlib
def client(name):
    return boto3.client(name, endpoint_url='${url}', region_name='${region}',
                        aws_access_key_id='${key}', aws_secret_access_key='${secret}')
`;
  const keys = await python(`${prelude('AKIDBOOTSTRAP', 'unused')}
iam = client('iam')
iam.create_user(UserName='tempo-it')
k = iam.create_access_key(UserName='tempo-it')['AccessKey']
arn = iam.create_policy(PolicyName='allow-all', PolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))['Policy']['Arn']
iam.attach_user_policy(UserName='tempo-it', PolicyArn=arn)
print(json.dumps({'key': k['AccessKeyId'], 'secret': k['SecretAccessKey']}))
`);
  return {
    url, port, region, ...keys,
    /** The environment that gives serve these keys, this region and no instance metadata. */
    env: { AWS_ACCESS_KEY_ID: keys.key, AWS_SECRET_ACCESS_KEY: keys.secret, AWS_REGION: region, AWS_EC2_METADATA_DISABLED: 'true' },
    boto3: (script) => python(prelude(keys.key, keys.secret) + script),
    stop: () => child.kill(),
  };
}

/**
 * A TCP proxy in front of a local port that can be paused, as a network outage: while paused
 * it cuts every open connection and every new one at once. Stopping moto instead would lose
 * its state and its keys.
 */
export async function startProxy(targetPort) {
  let paused = false;
  const sockets = new Set();
  const server = net.createServer((client) => {
    if (paused) { client.destroy(); return; }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    pause() { paused = true; for (const s of sockets) s.destroy(); },
    resume() { paused = false; },
    close() { for (const s of sockets) s.destroy(); server.close(); },
  };
}

/**
 * Makes the shared infrastructure the ecs deployer needs in moto (tests/support/
 * ecs_infrastructure.py) and writes its `terraform output -json` to `file`; resolves with it.
 */
export async function makeEcsInfrastructure(moto, file) {
  const script = fileURLToPath(new URL('../../support/ecs_infrastructure.py', import.meta.url));
  const outputs = await python(`
import runpy, sys
sys.argv = ['x', '${moto.url}', '${moto.key}', '${moto.secret}']
runpy.run_path('${script}')
`);
  writeFileSync(file, JSON.stringify(outputs));
  return outputs;
}
