import crypto from 'crypto';
import cf from 'cloudfront';

// retrieve-auth: CloudFront Function (runtime cloudfront-js-2.0, viewer-request event) on the
// /retrieve/* cache behaviour only. It answers 401/404/405/410 itself with the upstream bodies
// and rewrites every valid request to the S3 object of the bundle, so the origin is only ever
// asked for /exports/{region}/{period}.zip (and the hourly-changing HMAC never reaches the
// cache key). /exposure-configuration/* has no function associated: those objects are public.
//
// Order, as upstream (reference §6) plus PROTOCOL.md deviations 9, 10 and 12:
//   path shape -> region configured (404) -> HMAC (401) -> method (405) -> period (404/410).
// Configuration comes from the KeyValueStore associated with the function:
//   hmacKey  hex text (>= 64 hex digits, even length), the app's HMAC_KEY; absent -> 401 always
//   regions  comma-separated MCCs served, e.g. "302"; absent -> "302"
// Kept dependency-free and small: the runtime caps function code at 10 KB, comments included.
// The same file runs locally and in unit tests through local/edge-runner.ts.

const kvs = cf.kvs(); // the single store associated with this function

const HOUR_MS = 3600000;
const DAY_MS = 86400000;
const SERVED_DAYS = 14; // day D is served from D (today) to D + 14
const DEFAULT_REGIONS = '302';

// /retrieve/{region}/{period}/{hmac}: exactly three segments; the third may be empty (-> 401).
const ROUTE = /^\/retrieve\/([0-9]{3})\/([0-9]{5})\/([^/]*)$/;
const AUTH = /^[0-9a-fA-F]{64}$/;
const HEX_KEY = /^(?:[0-9a-fA-F]{2}){32,}$/;

function textResponse(statusCode, statusDescription, body) {
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: {
      'content-type': { value: 'text/plain; charset=utf-8' },
      'x-content-type-options': { value: 'nosniff' },
      // An error must not be cached: the same URL can become valid within the hour.
      'cache-control': { value: 'no-store' },
    },
    body: { encoding: 'text', data: body },
  };
}

function notFound() {
  return textResponse(404, 'Not Found', '404 page not found\n');
}

function unauthorized() {
  return textResponse(401, 'Unauthorized', 'unauthorized\n');
}

// KeyValueStore get() rejects when the key is absent; treat that (or any read error) as absent.
async function kvsGet(key) {
  try {
    return await kvs.get(key);
  } catch (e) {
    return null;
  }
}

async function regionConfigured(region) {
  const value = await kvsGet('regions');
  const list = (typeof value === 'string' && value.trim() !== '' ? value : DEFAULT_REGIONS).split(',');
  for (let i = 0; i < list.length; i++) {
    if (list[i].trim() === region) return true;
  }
  return false;
}

// Constant-time equality of two strings of equal length (the runtime has no timingSafeEqual).
function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

// HMAC-SHA256(hex-decode(hmacKey), "region:period:hour") as lowercase hex, compared against
// the hours H-1, H and H+1. All three are always computed, so timing does not reveal which hour
// matched. A missing or malformed key fails closed.
async function authorized(region, period, auth, nowMs) {
  if (!AUTH.test(auth)) return false;
  const keyHex = await kvsGet('hmacKey');
  if (typeof keyHex !== 'string' || !HEX_KEY.test(keyHex)) return false;
  const key = Buffer.from(keyHex, 'hex');
  const given = auth.toLowerCase();
  const hour = Math.floor(nowMs / HOUR_MS);
  let ok = false;
  for (let h = hour - 1; h <= hour + 1; h++) {
    const mac = crypto.createHmac('sha256', key).update(region + ':' + period + ':' + h).digest('hex');
    if (sameText(given, mac)) ok = true;
  }
  return ok;
}

async function handler(event) {
  const request = event.request;
  const match = ROUTE.exec(request.uri);
  if (match === null) return notFound();
  const region = match[1];
  const period = match[2];

  // Deviation 9: an unconfigured region is 404, before the HMAC is looked at.
  if (!(await regionConfigured(region))) return notFound();

  const nowMs = Date.now();
  if (!(await authorized(region, period, match[3], nowMs))) return unauthorized();

  // Upstream checks auth before the method. Deviation 10: HEAD is allowed like GET.
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return textResponse(405, 'Method Not Allowed', 'method not allowed\n');
  }

  // 00000 is the 15-day bundle; otherwise the period is a UTC day number D.
  if (period !== '00000') {
    const today = Math.floor(nowMs / DAY_MS);
    const day = parseInt(period, 10);
    if (day > today) return textResponse(404, 'Not Found', 'cannot request future data\n');
    if (day < today - SERVED_DAYS) return textResponse(410, 'Gone', 'requested data no longer valid\n');
    // today .. today-14 are served; today's partial bundle as upstream shipped (deviation 12).
  }

  request.uri = '/exports/' + region + '/' + period + '.zip';
  request.querystring = {};
  return request;
}
