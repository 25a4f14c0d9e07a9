// TempoVoice dashboard: a small client-side router over /api/v1 (docs/dashboard.md).
import { api, setCsrf, errorMessage } from './api.js';
import { h, toast, fmtDate, fmtDuration, isoDay } from './dom.js';
import { barChart, lineChart, shareChart } from './charts.js';
import { startTalk } from './talk.js';

const main = document.getElementById('main');
let me = null;

function go(path) {
  history.pushState(null, '', path);
  render();
}

function setPage(title, ...content) {
  document.title = `${title} · TempoVoice`;
  main.replaceChildren(h('h1', {}, title), ...content);
  main.focus({ preventScroll: true });
  for (const a of document.querySelectorAll('.top nav a')) {
    const here = location.pathname === a.getAttribute('href') ||
      (a.getAttribute('href') !== '/dashboard' && location.pathname.startsWith(a.getAttribute('href')));
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

const link = (href, text, cls = '') => h(`a${cls}`, { href }, text);

// ------------------------------------------------------------------ login

function loginPage() {
  document.getElementById('top').hidden = true;
  const err = h('p.error', { role: 'alert', id: 'login-error' });
  const email = h('input', { type: 'email', id: 'email', name: 'email', autocomplete: 'username', required: true, value: 'admin@localhost' });
  const password = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const form = h('form.card', { novalidate: true },
    h('div.field', {}, h('label', { for: 'email' }, 'Email'), email),
    h('div.field', {}, h('label', { for: 'password' }, 'Password'), password),
    err, h('button.btn', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const res = await api('POST', '/api/v1/auth/login', { email: email.value, password: password.value });
    if (!res.ok) { err.textContent = errorMessage(res); password.focus(); return; }
    setCsrf(res.data.csrfToken);
    me = null;
    const next = new URLSearchParams(location.search).get('next');
    go(next && next.startsWith('/dashboard') ? next : '/dashboard');
  });
  main.replaceChildren(h('div.login', {}, h('h1', {}, 'TempoVoice'), h('p.muted', {}, 'Log in to manage your voice agents.'), form));
  document.title = 'Log in · TempoVoice';
  email.focus();
}

// ------------------------------------------------------------------ overview

async function overviewPage() {
  const today = new Date();
  const tomorrow = new Date(Date.now() + 86400000);
  const [agents, usageToday, usage30, calls] = await Promise.all([
    api('GET', '/api/v1/agents?limit=200'),
    api('GET', `/api/v1/usage?from=${isoDay(today)}&to=${isoDay(tomorrow)}`),
    api('GET', '/api/v1/usage'),
    api('GET', '/api/v1/calls?limit=5'),
  ]);
  const items = agents.data?.items || [];
  const stat = (value, label) => h('div.card.stat', {}, h('div.value', {}, value), h('div.label', {}, label));
  setPage('Overview',
    h('div.grid.cols-3', {},
      stat(items.length, `agents (${items.filter((a) => a.status === 'deployed').length} deployed)`),
      stat(usageToday.data?.totals?.calls ?? 0, 'calls today'),
      stat((usageToday.data?.totals?.minutes ?? 0).toFixed(1), 'minutes today')),
    h('div.grid.cols-2', {},
      h('section.card', {}, h('h2', {}, 'Recent calls'), callsTable(calls.data?.items || [])),
      h('section.card', {}, h('h2', {}, 'Quick links'),
        h('ul', {},
          h('li', {}, link('/dashboard/agents?new=1', 'Create an agent')),
          h('li', {}, link('/dashboard/numbers', 'Connect a Twilio number')),
          h('li', {}, link('/dashboard/calls', 'Browse calls')),
          h('li', {}, link('/dashboard/analytics', 'Analytics')),
          h('li', {}, link('/api/v1/openapi.json', 'API reference (OpenAPI)'))),
        h('p.muted', {}, `Last 30 days: ${usage30.data?.totals?.calls ?? 0} calls, ${(usage30.data?.totals?.minutes ?? 0).toFixed(1)} minutes.`))));
}

// ------------------------------------------------------------------ agents

// Fields the server keeps but does not use yet say so, so that nobody relies on them.
const NOT_YET = 'Stored — not acted on yet';

// The speech engines this server has, read once: an agent may only name one of them.
let engineNames = null;
async function loadEngines() {
  if (!engineNames) {
    const res = await api('GET', '/api/v1/engines');
    if (res.ok) engineNames = (res.data?.items || []).map((e) => e.name);
  }
  return engineNames || [];
}

// Every AgentConfig field, grouped as on the form. kind: text|textarea|number|check|select|secret|lines|kb
const AGENT_FIELDS = [
  ['Identity', [
    ['agentId', 'Agent ID', 'text', 'Lower-case letters, digits and “-”, 3–39 characters'],
    ['agentName', 'Name', 'text'],
    ['description', 'Description', 'textarea', '', 'wide'],
    // The choices are the engines this server has (GET /api/v1/engines, see loadEngines).
    ['engine', 'Speech engine', 'select', 'local: on-premise models; echo: repeats the caller (testing)', '', 'engines'],
    ['voiceId', 'Voice', 'text'],
    ['enabled', 'Enabled', 'check'],
  ]],
  ['Conversation', [
    ['prompt', 'Prompt', 'textarea', 'The agent’s instructions', 'wide'],
    ['firstMessage', 'First message', 'text', 'Spoken when the call connects', 'wide'],
    ['guardrails', 'Guardrails', 'lines', 'One rule per line', 'wide'],
    ['knowledgeBase', 'Knowledge base', 'kb', 'One entry per line: “question | answer”, or a paragraph', 'wide'],
  ]],
  ['Telephony', [
    ['callPhoneNumber', 'Phone number', 'text', 'E.164, e.g. +14155550100'],
    ['transferPhoneNumber', 'Transfer number', 'text', 'E.164'],
    ['summaryPhoneNumber', 'Summary SMS number', 'text', `E.164. ${NOT_YET} (no summary SMS is sent yet)`],
    ['sipEndpoint', 'SIP endpoint', 'text', 'sip: URI'],
    ['twilioAccountSid', 'Twilio Account SID', 'text', 'AC…'],
    ['twilioAuthToken', 'Twilio auth token', 'secret', 'Checks Twilio’s signatures. Write-only'],
    ['twilioApiSecret', 'Twilio API secret', 'secret', `Write-only. ${NOT_YET} (the Twilio REST API is not called yet)`],
    ['awsRegion', 'AWS region', 'text', `${NOT_YET} (no engine uses AWS yet)`],
  ]],
  ['Integrations', [
    ['makeEndpoint', 'Make endpoint', 'text', `https URL. ${NOT_YET} (no webhook is sent yet)`],
    ['webhookEndpoint', 'Webhook endpoint', 'text', `https URL. ${NOT_YET} (no webhook is sent yet)`],
    ['novaPickupWebhookUrl', 'Pickup webhook URL', 'text', `${NOT_YET} (no webhook is sent yet)`],
    ['transcriptWebhookUrl', 'Transcript webhook URL', 'text', `${NOT_YET} (no webhook is sent yet)`],
  ]],
  ['Limits and recording', [
    ['maxConversationLength', 'Max conversation length (turns)', 'number'],
    ['maxSessionDuration', 'Max session duration (s)', 'number'],
    ['maxInappropriateAttempts', 'Max inappropriate attempts', 'number'],
    ['enableRecording', 'Record calls', 'check'],
    ['enableTranscription', 'Transcribe calls', 'check'],
  ]],
  ['On AWS (the ecs deployer)', [
    ['fargateCpu', 'Task CPU units', 'number', '256, 512, 1024, 2048 or 4096'],
    ['fargateMemory', 'Task memory (MiB)', 'number', 'A Fargate size for the CPU: 512–2048 for 256 units'],
    ['fargateSpot', 'Fargate Spot', 'check', 'About 70 % cheaper; a task may be interrupted'],
    ['minTasks', 'Minimum tasks', 'number'],
    ['maxTasks', 'Maximum tasks', 'number'],
    ['callsPerTask', 'Calls per task', 'number', 'Scaling target: active calls per task'],
  ]],
];
const DEFAULTS = { engine: 'local', enabled: true, awsRegion: 'us-east-1', enableRecording: true, enableTranscription: true,
  maxConversationLength: 50, maxSessionDuration: 1800, maxInappropriateAttempts: 3,
  fargateCpu: 256, fargateMemory: 512, fargateSpot: false, minTasks: 1, maxTasks: 2, callsPerTask: 20 };

// `engines`: from loadEngines(). A stored engine this server lacks stays visible (marked), so
// that the form shows the agent as it is; saving it is refused with the API's message.
function agentForm(agent, onSaved, engines) {
  const editing = !!agent;
  const values = { ...DEFAULTS, ...(agent || {}) };
  if (!editing && engines.length && !engines.includes(values.engine)) values.engine = engines[0];
  const choices = { engines: engines.map((e) => [e, e]) };
  if (values.engine && !engines.includes(values.engine)) choices.engines.push([values.engine, `${values.engine} (not available in this server)`]);
  const inputs = {}, errors = {};
  const groups = AGENT_FIELDS.map(([legend, fields]) => h('fieldset', {}, h('legend', {}, legend),
    h('div.form-grid', {}, fields.map(([key, label, kind, hint, wide, options]) => {
      const id = `f-${key}`, errId = `${id}-error`, hintId = hint ? `${id}-hint` : undefined;
      const describedby = [hintId, errId].filter(Boolean).join(' ');
      let input;
      const v = values[key];
      if (kind === 'textarea' || kind === 'lines' || kind === 'kb') {
        let text = v ?? '';
        if (kind === 'lines') text = (v || []).join('\n');
        if (kind === 'kb') text = (v || []).map((e) => (typeof e === 'string' ? e : e.question ? `${e.question} | ${e.answer}` : e.answer)).join('\n');
        input = h('textarea', { id, name: key, 'aria-describedby': describedby }, text);
      } else if (kind === 'select') {
        input = h('select', { id, name: key, 'aria-describedby': describedby },
          choices[options].map(([value, text]) => h('option', { value, selected: value === v }, text)));
      } else if (kind === 'check') {
        input = h('input', { type: 'checkbox', id, name: key, checked: !!v, 'aria-describedby': describedby });
      } else {
        const set = kind === 'secret' && agent?.[`${key}Set`];
        input = h('input', {
          type: kind === 'secret' ? 'password' : kind === 'number' ? 'number' : 'text', id, name: key,
          value: kind === 'secret' ? '' : v ?? '', autocomplete: kind === 'secret' ? 'new-password' : 'off',
          placeholder: set ? 'set — leave empty to keep' : undefined,
          readonly: editing && key === 'agentId', 'aria-describedby': describedby,
        });
      }
      inputs[key] = input;
      errors[key] = h('div.error', { id: errId });
      const labelEl = h('label', { for: id }, label);
      return kind === 'check'
        ? h(`div.field.check${wide ? '.wide' : ''}`, {}, input, ' ', labelEl, errors[key])
        : h(`div.field${wide ? '.wide' : ''}`, {}, labelEl, input, hint ? h('div.hint', { id: hintId }, hint) : null, errors[key]);
    }))));
  const summary = h('div.error', { role: 'alert', id: 'form-error' });
  const submit = h('button.btn', { type: 'submit' }, editing ? 'Save changes' : 'Create agent');
  const form = h('form.card', { novalidate: true, 'aria-label': editing ? 'Edit agent' : 'New agent' },
    h('h2', {}, editing ? `Edit ${agent.agentId}` : 'New agent'), groups, summary, h('div.row', {}, submit));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const [, fields] of AGENT_FIELDS) {
      for (const [key, , kind] of fields) {
        const input = inputs[key];
        if (kind === 'check') body[key] = input.checked;
        else if (kind === 'lines') body[key] = input.value.split('\n').map((l) => l.trim()).filter(Boolean);
        else if (kind === 'kb') {
          body[key] = input.value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
            const bar = l.indexOf('|');
            return bar < 0 ? l : { question: l.slice(0, bar).trim(), answer: l.slice(bar + 1).trim() };
          });
        } else if (kind === 'number') {
          const raw = input.value.trim();
          // An unparseable entry is sent as text so the API names the problem.
          if (raw !== '') body[key] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
          else if (input.validity.badInput) body[key] = 'not a number';
        } else if (kind === 'secret') {
          if (input.value !== '') body[key] = input.value;
        } else if (input.value.trim() !== '') body[key] = input.value.trim();
      }
    }
    for (const el of Object.values(errors)) el.textContent = '';
    for (const el of Object.values(inputs)) el.removeAttribute('aria-invalid');
    summary.textContent = '';
    submit.disabled = true;
    const res = editing
      ? await api('PUT', `/api/v1/agents/${encodeURIComponent(agent.agentId)}`, body, { 'If-Match': agent.etag })
      : await api('POST', '/api/v1/agents', body);
    submit.disabled = false;
    if (res.ok) { toast(editing ? 'Agent saved' : 'Agent created'); onSaved(res.data); return; }
    const fields = res.data?.error?.fields || [];
    const unplaced = [];
    let first = null;
    for (const f of fields) {
      const key = f.field.split(/[.[]/)[0];
      if (errors[key]) {
        errors[key].textContent = errors[key].textContent ? `${errors[key].textContent}; ${f.message}` : f.message;
        inputs[key].setAttribute('aria-invalid', 'true');
        first ??= inputs[key];
      } else unplaced.push(`${f.field}: ${f.message}`);
    }
    summary.textContent = res.status === 412
      ? 'Someone else changed this agent meanwhile. Reload the page and apply your change again.'
      : [errorMessage(res), ...unplaced].join(' — ');
    (first || summary).focus?.();
  });
  return form;
}

function statusBadge(status) { return h(`span.badge.${status || 'undeployed'}`, {}, status || 'undeployed'); }

async function agentsPage() {
  const res = await api('GET', '/api/v1/agents?limit=200');
  const items = res.data?.items || [];
  const holder = h('div');
  const newButton = h('button.btn', { type: 'button', onclick: () => showForm() }, 'New agent');
  const engines = await loadEngines();
  const showForm = () => {
    holder.replaceChildren(agentForm(null, (a) => go(`/dashboard/agents/${encodeURIComponent(a.agentId)}`), engines));
    holder.querySelector('input')?.focus();
  };
  const table = items.length
    ? h('table', {}, h('thead', {}, h('tr', {}, ['Agent', 'Name', 'Engine', 'Number', 'Status', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map((a) => h('tr', {},
        h('td', {}, link(`/dashboard/agents/${encodeURIComponent(a.agentId)}`, a.agentId)),
        h('td', {}, a.agentName), h('td', {}, a.engine ?? ''), h('td', {}, a.callPhoneNumber ?? ''),
        h('td', {}, statusBadge(a.status)), h('td', {}, fmtDate(a.updatedAt))))))
    : h('p.muted', {}, 'No agents yet.');
  setPage('Agents', h('div.row', {}, h('p.muted', {}, `${items.length} agent(s)`), h('span.spacer'), newButton), h('section.card', {}, table), holder);
  if (new URLSearchParams(location.search).has('new')) showForm();
}

function deployPanel(agent, onFinished = () => {}) {
  const bar = h('div');
  const steps = h('ul.steps');
  const state = h('span', { role: 'status', 'aria-live': 'polite', id: 'deploy-state' }, statusBadge(agent.status));
  const button = h('button.btn', { type: 'button', id: 'deploy' }, agent.status === 'deployed' ? 'Redeploy' : 'Deploy');
  const show = (d) => {
    bar.style.width = `${d.progress ?? 0}%`;
    steps.replaceChildren(...(d.steps || []).map((st) => h(`li.${st.state}`, {}, st.name, st.message ? ` — ${st.message}` : '')));
    const label = d.state === 'succeeded' ? (d.action === 'undeploy' ? 'undeployed' : 'ready') : d.state;
    if (d.state === 'succeeded' && d.action !== 'undeploy') button.textContent = 'Redeploy';
    state.replaceChildren(h(`span.badge.${d.state}`, {}, label), d.error ? ` ${d.error}` : '');
  };
  const poll = async () => {
    for (;;) {
      const r = await api('GET', `/api/v1/agents/${encodeURIComponent(agent.agentId)}/deployment`);
      if (!r.ok) { state.textContent = errorMessage(r); break; }
      show(r.data);
      if (r.data.state !== 'in_progress') break;
      await new Promise((ok) => setTimeout(ok, 250));
    }
    button.disabled = false;
    onFinished();
  };
  // The last deployment's log, as it ended (or as it goes, when one is running).
  (async () => {
    const r = await api('GET', `/api/v1/agents/${encodeURIComponent(agent.agentId)}/deployment`);
    if (!r.ok) return;
    show(r.data);
    if (r.data.state === 'in_progress') { button.disabled = true; poll(); }
  })();
  button.addEventListener('click', async () => {
    button.disabled = true;
    state.replaceChildren(h('span.badge.in_progress', {}, 'starting'));
    steps.replaceChildren();
    const r = await api('POST', `/api/v1/agents/${encodeURIComponent(agent.agentId)}/deploy`);
    if (!r.ok) { state.textContent = errorMessage(r); button.disabled = false; return; }
    show(r.data);
    poll();
  });
  return h('section.card', { 'aria-labelledby': 'deploy-h' }, h('h2', { id: 'deploy-h' }, 'Deployment'),
    h('div.row', {}, button, state), h('div.progress', { role: 'presentation' }, bar), steps);
}

// What the agent has where its deployer put it: for ecs, its AWS resources with their health
// and console links.
function resourcesPanel(agent, onVoiceUrl) {
  const body = h('div', { id: 'resources' }, h('p.muted', {}, 'Loading…'));
  const external = (href, text) => h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text);
  const load = async () => {
    const r = await api('GET', `/api/v1/agents/${encodeURIComponent(agent.agentId)}/resources`);
    if (!r.ok) { body.replaceChildren(h('p.error', {}, errorMessage(r))); return; }
    const res = r.data;
    if (res.deployer !== 'ecs') {
      body.replaceChildren(h('p.muted', {}, `Deployer: ${res.deployer}. This server answers the agent's calls itself.`));
      return;
    }
    if (res.voiceUrl) onVoiceUrl(res.voiceUrl);
    const links = res.console || {};
    const row = (label, key, value, detail) => h('tr', {},
      h('th', { scope: 'row' }, label),
      h('td', {}, value ? h('code.code', {}, value) : h('span.muted', {}, 'none'), detail ? ` ${detail}` : ''),
      h('td', {}, links[key] ? external(links[key], 'AWS console') : ''));
    const svc = res.service;
    const tg = res.targetGroup;
    const targets = tg ? tg.targets.map((t) => t.state).join(', ') || 'no targets' : '';
    body.replaceChildren(
      h('p.muted', {}, 'Deployer: ecs (a Fargate service behind the load balancer)'),
      h('table', {}, h('tbody', {},
        row('Bucket', 'bucket', res.bucket),
        row('Secret', 'secret', res.secret),
        row('Task definition', 'taskDefinition', res.taskDefinition),
        row('Target group', 'targetGroup', tg?.arn, tg ? `(${targets})` : ''),
        row('Service', 'service', svc?.arn, svc ? `(${svc.running} of ${svc.desired} running, rollout ${svc.rollout || '?'})` : ''),
        row('Listener rule', 'listenerRule', res.listenerRule ? `${res.listenerRule.path} → priority ${res.listenerRule.priority}` : null),
        row('Scaling', '', res.scaling ? `${res.scaling.min}–${res.scaling.max} tasks` : null),
        row('Logs', 'logs', null))));
  };
  load();
  return { element: h('section.card', { 'aria-labelledby': 'resources-h' }, h('h2', { id: 'resources-h' }, 'Resources'), body), reload: load };
}

function talkPanel(agent) {
  const status = h('span', { role: 'status', 'aria-live': 'polite', id: 'talk-status' }, 'Uses your microphone; the call is recorded like a phone call.');
  const level = h('div');
  const callLink = h('span');
  let call = null;
  const button = h('button.btn.secondary', { type: 'button', id: 'talk' }, 'Talk to this agent');
  button.addEventListener('click', async () => {
    if (call) { call.stop(); button.disabled = true; return; }
    button.disabled = true;
    status.textContent = 'Connecting…';
    try {
      call = await startTalk(agent.agentId, {
        status: (t) => { status.textContent = t; },
        level: (v) => { level.style.width = `${Math.round(v * 100)}%`; },
        ended: (reason) => {
          status.textContent = reason;
          button.textContent = 'Talk to this agent'; button.disabled = false;
          callLink.replaceChildren(link(`/dashboard/calls/${call.callSid}`, 'Open this call'));
          call = null;
        },
      });
      button.textContent = 'Hang up'; button.disabled = false;
    } catch (e) {
      status.textContent = `Could not start: ${e.message}`;
      button.disabled = false; call = null;
    }
  });
  return h('section.card', { 'aria-labelledby': 'talk-h' }, h('h2', { id: 'talk-h' }, 'Talk to this agent'),
    h('div.row', {}, button, h('div.meter', { 'aria-hidden': 'true' }, level), status, callLink));
}

async function agentPage(id) {
  const [res, engines] = await Promise.all([api('GET', `/api/v1/agents/${encodeURIComponent(id)}`), loadEngines()]);
  if (!res.ok) { setPage('Agent', h('p.error', {}, errorMessage(res))); return; }
  const agent = { ...res.data, etag: res.etag };
  const voiceUrl = h('code.code', { id: 'voice-url' }, agent.voiceUrl || '');
  const resources = resourcesPanel(agent, (url) => { voiceUrl.textContent = url; });
  setPage(agent.agentName || agent.agentId,
    h('p', {}, link('/dashboard/agents', '← All agents'), ' · Voice URL ', voiceUrl),
    h('div.grid.cols-2', {}, deployPanel(agent, resources.reload), talkPanel(agent)),
    resources.element,
    agentForm(agent, () => { render(); }, engines));
}

// ------------------------------------------------------------------ numbers

async function numbersPage() {
  const [numbers, agents] = await Promise.all([api('GET', '/api/v1/numbers'), api('GET', '/api/v1/agents?limit=200')]);
  const agentIds = (agents.data?.items || []).map((a) => a.agentId);
  const agentSelect = (id, value, label) => h('select', { id, 'aria-label': label },
    h('option', { value: '' }, '— unassigned —'), agentIds.map((a) => h('option', { value: a, selected: a === value }, a)));
  const rows = (numbers.data?.items || []).map((n) => {
    const sel = agentSelect(`assign-${n.e164}`, n.agentId, `Agent for ${n.e164}`);
    sel.addEventListener('change', async () => {
      const r = await api('PATCH', `/api/v1/numbers/${encodeURIComponent(n.e164)}`, { agentId: sel.value || null });
      toast(r.ok ? `${n.e164} updated` : errorMessage(r));
      if (r.ok) render();
    });
    const del = h('button.btn.danger', { type: 'button', 'aria-label': `Remove ${n.e164}` }, 'Remove');
    del.addEventListener('click', async () => {
      const r = await api('DELETE', `/api/v1/numbers/${encodeURIComponent(n.e164)}`);
      toast(r.ok ? `${n.e164} removed` : errorMessage(r));
      if (r.ok) render();
    });
    return h('tr', {}, h('td', {}, h('code', {}, n.e164)), h('td', {}, sel),
      h('td', {}, n.voiceUrl ? h('code.code.voice-url', {}, n.voiceUrl) : h('span.muted', {}, 'assign an agent')),
      h('td', {}, h('code', {}, n.voiceMethod || 'POST')), h('td', {}, del));
  });
  const e164 = h('input', { type: 'tel', id: 'n-e164', placeholder: '+14155550100', 'aria-describedby': 'n-e164-error' });
  const e164Err = h('div.error', { id: 'n-e164-error' });
  const agentSel = agentSelect('n-agent', agentIds[0], 'Agent');
  const agentErr = h('div.error', { id: 'n-agent-error' });
  const formErr = h('div.error', { role: 'alert' });
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'n-h' }, h('h2', { id: 'n-h' }, 'Assign a number'),
    h('div.filters', {},
      h('div.field', {}, h('label', { for: 'n-e164' }, 'Phone number (E.164)'), e164, e164Err),
      h('div.field', {}, h('label', { for: 'n-agent' }, 'Agent'), agentSel, agentErr),
      h('button.btn', { type: 'submit' }, 'Assign')), formErr);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    e164Err.textContent = agentErr.textContent = formErr.textContent = '';
    const r = await api('POST', '/api/v1/numbers', { e164: e164.value.trim(), agentId: agentSel.value || null });
    if (r.ok) { toast(`${r.data.e164} assigned`); render(); return; }
    for (const f of r.data?.error?.fields || []) (f.field === 'e164' ? e164Err : f.field === 'agentId' ? agentErr : formErr).append(`${f.message} `);
    formErr.append(errorMessage(r));
  });
  setPage('Numbers',
    h('p.muted', {}, 'In the Twilio console, set each number’s “A call comes in” webhook to its Voice URL with method POST.'),
    form,
    h('section.card', {}, rows.length
      ? h('table', {}, h('thead', {}, h('tr', {}, ['Number', 'Agent', 'Voice URL', 'Method', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
      : h('p.muted', {}, 'No numbers yet.')));
}

// ------------------------------------------------------------------ calls

function callsTable(items) {
  if (!items.length) return h('p.muted', {}, 'No calls.');
  return h('table', { id: 'calls-table' }, h('thead', {}, h('tr', {}, ['Call', 'Agent', 'From', 'Started', 'Duration', 'Turns', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((c) => h('tr', {},
      h('td', {}, link(`/dashboard/calls/${encodeURIComponent(c.callSid)}`, `${c.callSid.slice(0, 12)}…`)),
      h('td', {}, c.agentId), h('td', {}, c.from), h('td', {}, fmtDate(c.startedAt)),
      h('td', {}, fmtDuration(c.durationMs)), h('td', {}, c.turns), h('td', {}, statusBadge(c.outcome || 'in progress'))))));
}

const OUTCOMES = ['completed', 'ended_by_agent', 'transferred', 'voicemail', 'guardrail', 'dropped', 'error', 'shutdown', 'interrupted'];

async function callsPage() {
  const q = new URLSearchParams(location.search);
  const agents = await api('GET', '/api/v1/agents?limit=200');
  const params = new URLSearchParams({ limit: q.get('limit') || '25' });
  for (const k of ['agentId', 'outcome', 'cursor']) if (q.get(k)) params.set(k, q.get(k));
  if (q.get('from')) params.set('from', q.get('from'));
  if (q.get('to')) params.set('to', isoDay(new Date(Date.parse(q.get('to')) + 86400000)));  // inclusive day
  const res = await api('GET', `/api/v1/calls?${params}`);
  const select = (id, label, value, options) => h('div.field', {}, h('label', { for: id }, label),
    h('select', { id, name: id }, h('option', { value: '' }, 'Any'), options.map((o) => h('option', { value: o, selected: o === value }, o))));
  const date = (id, label, value) => h('div.field', {}, h('label', { for: id }, label), h('input', { type: 'date', id, name: id, value: value || '' }));
  const form = h('form.card.filters', { 'aria-label': 'Filters' },
    select('agentId', 'Agent', q.get('agentId'), (agents.data?.items || []).map((a) => a.agentId)),
    select('outcome', 'Outcome', q.get('outcome'), OUTCOMES),
    date('from', 'From', q.get('from')), date('to', 'To', q.get('to')),
    h('button.btn', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) next.set(el.name, el.value);
    go(`/dashboard/calls${next.toString() ? `?${next}` : ''}`);
  });
  const pager = h('nav.pager', { 'aria-label': 'Pages' });
  const prev = (q.get('prev') || '').split(',').filter(Boolean);
  if (q.get('cursor')) {
    const back = new URLSearchParams(q);
    const last = prev.pop();
    if (last && last !== '-') back.set('cursor', last); else back.delete('cursor');
    if (prev.length) back.set('prev', prev.join(',')); else back.delete('prev');
    pager.append(link(`/dashboard/calls?${back}`, '← Newer', '.btn.secondary'));
  }
  if (res.data?.nextCursor) {
    const fwd = new URLSearchParams(q);
    fwd.set('prev', [...(q.get('prev') || '').split(',').filter(Boolean), q.get('cursor') || '-'].join(','));
    fwd.set('cursor', res.data.nextCursor);
    pager.append(link(`/dashboard/calls?${fwd}`, 'Older →', '.btn.secondary'));
  }
  setPage('Calls', form, h('section.card', {}, res.ok ? callsTable(res.data.items) : h('p.error', {}, errorMessage(res)), pager));
}

async function callPage(sid) {
  const res = await api('GET', `/api/v1/calls/${encodeURIComponent(sid)}`);
  if (!res.ok) { setPage('Call', h('p.error', {}, errorMessage(res))); return; }
  const call = res.data;
  const transcript = call.hasTranscript ? await api('GET', `/api/v1/calls/${encodeURIComponent(sid)}/transcript`) : null;
  const turns = transcript?.data?.turns || [];
  const audio = call.hasRecording
    ? h('audio', { controls: true, preload: 'metadata', src: call.recordingUrl, id: 'recording', 'aria-label': 'Call recording (caller left, agent right)' })
    : h('p.muted', {}, 'No recording.');
  const buttons = turns.map((t, i) => h(`button.turn.${t.role}`, {
    type: 'button', 'data-start': t.startMs, 'data-index': i,
    onclick: () => { if (audio.tagName === 'AUDIO') { audio.currentTime = t.startMs / 1000; audio.play().catch(() => {}); } },
  }, h('div.meta', {}, `${t.role === 'caller' ? 'Caller' : 'Agent'} · ${fmtDuration(t.startMs)}${t.interrupted ? ' · interrupted' : ''}`), t.text));
  if (audio.tagName === 'AUDIO') {
    audio.addEventListener('timeupdate', () => {
      const ms = audio.currentTime * 1000;
      buttons.forEach((b, i) => b.classList.toggle('current', ms >= turns[i].startMs && ms < (turns[i].endMs ?? turns[i].startMs)));
    });
  }
  const lat = call.turnLatenciesMs || [];
  const prop = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
  setPage('Call',
    h('p', {}, link('/dashboard/calls', '← All calls'), ' · ', h('code', {}, call.callSid)),
    h('div.detail', {},
      h('section.card', { 'aria-labelledby': 'tr-h' }, h('h2', { id: 'tr-h' }, 'Transcript'),
        turns.length ? h('ol.timeline', { id: 'transcript' }, buttons.map((b) => h('li', {}, b))) : h('p.muted', {}, 'No transcript.')),
      h('div', {},
        h('section.card', {}, h('h2', {}, 'Recording'), audio, h('p.muted', {}, 'Caller on the left channel, agent on the right. Select a turn to jump to it.')),
        h('section.card', {}, h('h2', {}, 'Details'), h('dl.props', {},
          prop('Agent', link(`/dashboard/agents/${encodeURIComponent(call.agentId)}`, call.agentId)),
          prop('From', call.from || '—'), prop('To', call.to || '—'), prop('Started', fmtDate(call.startedAt)),
          prop('Duration', fmtDuration(call.durationMs)), prop('Outcome', statusBadge(call.outcome || 'in progress')),
          prop('Turns', call.turns),
          prop('Turn latency', lat.length ? `${Math.round(lat.reduce((a, b) => a + b, 0) / lat.length)} ms average (${lat.map((x) => Math.round(x)).join(', ')})` : '—'))))));
}

// ------------------------------------------------------------------ analytics

async function analyticsPage() {
  const from = isoDay(new Date(Date.now() - 29 * 86400000));
  const [usage, calls] = await Promise.all([api('GET', `/api/v1/usage?from=${from}`), api('GET', `/api/v1/calls?limit=200&from=${from}`)]);
  const days = [];
  for (let i = 29; i >= 0; i--) days.push(isoDay(new Date(Date.now() - i * 86400000)));
  const perDay = Object.fromEntries(days.map((d) => [d, { calls: 0, minutes: 0 }]));
  for (const u of usage.data?.items || []) if (perDay[u.date]) { perDay[u.date].calls += u.calls; perDay[u.date].minutes += u.minutes; }
  const label = (d) => d.slice(5);
  const outcomes = {};
  for (const c of calls.data?.items || []) { const o = c.outcome || 'in progress'; outcomes[o] = (outcomes[o] || 0) + 1; }
  // Turn latency: the average per call, for the most recent calls with turns.
  const recent = (calls.data?.items || []).filter((c) => c.turns > 0).slice(0, 20).reverse();
  const details = await Promise.all(recent.map((c) => api('GET', `/api/v1/calls/${encodeURIComponent(c.callSid)}`)));
  const latency = details.filter((d) => d.ok && d.data.turnLatenciesMs?.length).map((d) => ({
    label: new Date(d.data.startedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    value: Math.round(d.data.turnLatenciesMs.reduce((a, b) => a + b, 0) / d.data.turnLatenciesMs.length),
  }));
  setPage('Analytics',
    h('p.muted', {}, `Last 30 days: ${usage.data?.totals?.calls ?? 0} calls, ${(usage.data?.totals?.minutes ?? 0).toFixed(1)} minutes.`),
    h('div.grid.cols-2', {},
      h('section.card', {}, barChart('Calls per day', days.map((d) => ({ label: label(d), value: perDay[d].calls })))),
      h('section.card', {}, barChart('Minutes per day', days.map((d) => ({ label: label(d), value: Math.round(perDay[d].minutes * 100) / 100 })), '#0e7c86', 1)),
      h('section.card', {}, shareChart('Outcomes', Object.entries(outcomes).map(([k, v]) => ({ label: k, value: v })))),
      h('section.card', {}, latency.length ? lineChart('Turn latency (ms, average per call)', latency) : [h('h2', {}, 'Turn latency'), h('p.muted', {}, 'No turns yet.')])));
}

// ------------------------------------------------------------------ router

async function ensureSession() {
  if (me) return true;
  const res = await api('GET', '/api/v1/auth/me');
  if (!res.ok) return false;
  me = res.data;
  setCsrf(me.csrfToken);
  document.getElementById('who').textContent = `${me.user?.email || ''} · ${me.organisation?.name || ''}`;
  return true;
}

async function render() {
  const path = location.pathname.replace(/\/+$/, '') || '/dashboard';
  if (path === '/dashboard/login') { loginPage(); return; }
  if (!(await ensureSession())) return;  // api() redirected to the login page
  document.getElementById('top').hidden = false;
  let m;
  try {
    if (path === '/dashboard') await overviewPage();
    else if (path === '/dashboard/agents') await agentsPage();
    else if ((m = path.match(/^\/dashboard\/agents\/([^/]+)$/))) await agentPage(decodeURIComponent(m[1]));
    else if (path === '/dashboard/numbers') await numbersPage();
    else if (path === '/dashboard/calls') await callsPage();
    else if ((m = path.match(/^\/dashboard\/calls\/([^/]+)$/))) await callPage(decodeURIComponent(m[1]));
    else if (path === '/dashboard/analytics') await analyticsPage();
    else setPage('Not found', h('p', {}, 'No such page. ', link('/dashboard', 'Overview')));
  } catch (e) {
    setPage('Error', h('p.error', {}, e.message));
  }
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/dashboard')) return;
  e.preventDefault();
  go(url.pathname + url.search);
});
window.addEventListener('popstate', render);
document.getElementById('logout').addEventListener('click', async () => {
  await api('POST', '/api/v1/auth/logout');
  me = null; setCsrf(null);
  go('/dashboard/login');
});
render();
