// Thin client of /api/v1 (docs/api.md): session cookie + CSRF token on writes.
let csrfToken = null;

export function setCsrf(token) { csrfToken = token; }

/** Resolves to {status, ok, data, etag}. Never throws for HTTP errors. */
export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) init.headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { status: 0, ok: false, data: { error: { code: 'network', message: `Network error: ${e.message}`, fields: [] } } };
  }
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    try { data = text ? JSON.parse(text) : null; } catch { data = { error: { code: 'bad_response', message: text.slice(0, 200), fields: [] } }; }
  }
  if (res.status === 401 && !path.endsWith('/auth/login')) {
    const next = location.pathname + location.search;
    if (!location.pathname.startsWith('/dashboard/login')) {
      history.pushState(null, '', `/dashboard/login?next=${encodeURIComponent(next)}`);
      window.dispatchEvent(new PopStateEvent('popstate'));
    }
  }
  return { status: res.status, ok: res.ok, data, etag: res.headers.get('ETag') };
}

/** The error message of a failed response. */
export const errorMessage = (res) => res.data?.error?.message || `Request failed (HTTP ${res.status})`;
