/** What an image the business wants to send really is, judged by its bytes, whether uploaded or fetched from a URL. */
import { lookup as dnsLookup } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { MediaRejectedError } from '../domain/errors';
import {
  describeFileKind,
  IMAGE_CONTENT_TYPES,
  isSendableImageKind,
  MAX_IMAGE_BYTES,
  SENDABLE_IMAGE_KINDS,
  sniffFileKind,
  type SendableImageKind,
} from '../domain/media';

export interface InspectedImage {
  kind: SendableImageKind;
  bytes: Uint8Array;
  size: number;
  /** Derived from the bytes, never from what the sender declared. */
  contentType: string;
}

export type FetchedImage = InspectedImage;

export interface FetchImageOptions {
  /** For the whole fetch: every redirect hop, the headers and the body. */
  timeoutMs: number;
  /** Defaults to (and cannot exceed) MAX_IMAGE_BYTES: reading more would only download what is refused anyway. */
  maxBytes?: number;
  /** Off in production: a URL from a client must not reach the engine's own network (SSRF). */
  allowPrivateNetwork: boolean;
  maxRedirects?: number;
}

/**
 * How a fetch reaches the network: name resolution and the rule saying which addresses are off limits.
 * Production uses the system resolver and `forbiddenAddressRange`; tests replace it so a loopback server can
 * stand in for a public host.
 */
export interface ImageFetchNetwork {
  lookup: LookupFunction;
  forbiddenRange(address: string): string | undefined;
}

export const PUBLIC_INTERNET: ImageFetchNetwork = { lookup: dnsLookup, forbiddenRange: forbiddenAddressRange };

const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const ACCEPTED_IMAGES = `Instagram accepts ${listInWords(SENDABLE_IMAGE_KINDS.map(describeFileKind))} images`;

/** Refuses anything Instagram would not take as an image, naming what the bytes are and what is accepted. */
export function inspectImage(bytes: Uint8Array): InspectedImage {
  if (bytes.length === 0) throw new MediaRejectedError('unsupported_type', `the file is empty; ${ACCEPTED_IMAGES}`);
  const sniffed = sniffFileKind(bytes);
  if (sniffed?.category === 'video') {
    throw new MediaRejectedError('video_not_supported', `the file is a video (${describeFileKind(sniffed.kind)}): videos cannot be sent`);
  }
  if (sniffed?.category === 'image') {
    if (!isSendableImageKind(sniffed.kind)) {
      throw new MediaRejectedError('unsupported_type', `the file is a ${describeFileKind(sniffed.kind)} image; ${ACCEPTED_IMAGES}`);
    }
    if (bytes.length > MAX_IMAGE_BYTES) {
      throw new MediaRejectedError('too_large', `the image is ${formatCount(bytes.length)} bytes; ${acceptedSize()}`);
    }
    return { kind: sniffed.kind, bytes, size: bytes.length, contentType: IMAGE_CONTENT_TYPES[sniffed.kind] };
  }
  const firstBytes = Array.from(bytes.subarray(0, 4), (byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ');
  const found = sniffed === undefined ? '' : `: ${describeFileKind(sniffed.kind)}${sniffed.category === 'audio' ? ' audio' : ''}`;
  throw new MediaRejectedError('unsupported_type', `the file is not an image (first bytes ${firstBytes}${found}); ${ACCEPTED_IMAGES}`);
}

/**
 * Downloads the image at `url` and inspects it. Bounded in time and size, http(s) only, at most `maxRedirects`
 * redirects, and, unless `allowPrivateNetwork`, only public addresses: checked on each hop's IP literal and on
 * every address name resolution returns for the connection itself, so a name that resolves differently the
 * second time (DNS rebinding) cannot slip through.
 */
export async function fetchImage(url: string, options: FetchImageOptions, network: ImageFetchNetwork = PUBLIC_INTERNET): Promise<FetchedImage> {
  const maxBytes = Math.min(options.maxBytes ?? MAX_IMAGE_BYTES, MAX_IMAGE_BYTES);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const lookup = options.allowPrivateNetwork ? network.lookup : publicOnlyLookup(network);
  let target = parseFetchableUrl(url);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  try {
    for (let redirects = 0; ; redirects += 1) {
      if (!options.allowPrivateNetwork) refuseForbiddenLiteral(target, network);
      const response = await requestOnce(target, lookup, deadline.signal);
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(response.statusCode ?? 0) && location !== undefined) {
        response.destroy();
        if (redirects >= maxRedirects) throw fetchFailed(`${target.host} redirected more than ${maxRedirects} times`);
        target = parseFetchableUrl(location, target);
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        response.destroy();
        throw fetchFailed(`${target.host} answered HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`);
      }
      return inspectImage(await readBody(response, maxBytes));
    }
  } catch (error) {
    if (error instanceof MediaRejectedError) throw error;
    if (deadline.signal.aborted) {
      throw new MediaRejectedError('fetch_timeout', `no complete answer from ${target.host} within ${formatCount(options.timeoutMs)} ms`);
    }
    throw fetchFailed(describeNetworkError(error, target));
  } finally {
    clearTimeout(timer);
  }
}

function fetchFailed(problem: string): MediaRejectedError {
  return new MediaRejectedError('fetch_failed', `the image could not be fetched: ${problem}`);
}

/** `url` as a URL that may be fetched; `base` resolves a redirect's relative Location. */
function parseFetchableUrl(url: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url, base);
  } catch {
    throw fetchFailed(base === undefined ? 'the address is not a valid URL' : `${base.host} redirected to an invalid address`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw fetchFailed(`only http: and https: URLs can be fetched, not ${parsed.protocol}`);
  }
  return parsed;
}

/** Node connects to an IP literal without asking `lookup`, so literals are checked here. */
function refuseForbiddenLiteral(target: URL, network: ImageFetchNetwork): void {
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) === 0) return;
  const range = network.forbiddenRange(host);
  if (range !== undefined) throw new ForbiddenAddressError(host, range);
}

class ForbiddenAddressError extends Error {
  readonly code = 'ERR_FORBIDDEN_ADDRESS';
  constructor(
    readonly address: string,
    readonly range: string,
  ) {
    super(`${address} is a ${range} address; only public internet addresses can be fetched`);
  }
}

/** Resolves as usual, then refuses the connection when any address the name resolves to is off limits. */
function publicOnlyLookup(network: ImageFetchNetwork): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    network.lookup(hostname, lookupOptions, (error, address, family) => {
      if (error) {
        callback(error, address, family);
        return;
      }
      const addresses = typeof address === 'string' ? [address] : address.map((entry) => entry.address);
      for (const candidate of addresses) {
        const range = network.forbiddenRange(candidate);
        if (range !== undefined) {
          callback(new ForbiddenAddressError(candidate, range), address, family);
          return;
        }
      }
      callback(null, address, family);
    });
  };
}

function requestOnce(target: URL, lookup: LookupFunction, signal: AbortSignal): Promise<IncomingMessage> {
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // No agent: a pooled keep-alive socket would skip `lookup`, and with it the address check.
    const request = client.request(target, { method: 'GET', agent: false, lookup, signal, headers: { accept: 'image/*' } }, resolve);
    request.on('error', reject);
    request.end();
  });
}

/** The body, refused as soon as more than `maxBytes` arrived (the rest is never downloaded). */
async function readBody(response: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge(maxBytes, declared);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        response.destroy();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks, received)));
    response.on('error', reject);
    response.on('close', () => {
      if (!response.complete) reject(new Error('the connection closed before the whole file arrived'));
    });
  });
}

/** `announcedBytes` when the server's Content-Length gave the size away before any of the body was read. */
function tooLarge(maxBytes: number, announcedBytes?: number): MediaRejectedError {
  const size = announcedBytes === undefined ? `larger than ${formatCount(maxBytes)}` : `${formatCount(announcedBytes)}`;
  const limit = maxBytes === MAX_IMAGE_BYTES ? acceptedSize() : `at most ${formatCount(maxBytes)} bytes are fetched`;
  return new MediaRejectedError('too_large', `the image is ${size} bytes; ${limit}`);
}

function acceptedSize(): string {
  return `Instagram accepts at most ${formatCount(MAX_IMAGE_BYTES)} (${MAX_IMAGE_BYTES / 1_000_000} MB)`;
}

function describeNetworkError(error: unknown, target: URL): string {
  if (error instanceof ForbiddenAddressError) return `refused to connect to ${target.hostname}: ${error.message}`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return `the name ${target.hostname} could not be resolved`;
    case 'ECONNREFUSED':
      return `the connection to ${target.host} was refused`;
    case 'ECONNRESET':
      return `the connection to ${target.host} was reset`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${target.host} is unreachable`;
    default:
      if (code?.startsWith('ERR_TLS') || code?.includes('CERT')) return `the TLS connection to ${target.host} failed (${message})`;
      return `the request to ${target.host} failed (${message})`;
  }
}

// ---- Which addresses are off limits ----

interface AddressRange<T> {
  base: T;
  prefix: number;
  name: string;
}

function ipv4Range(cidr: string, name: string): AddressRange<number> {
  const [base = '', prefix = ''] = cidr.split('/');
  return { base: parseIpv4(base), prefix: Number(prefix), name: `${name} (${cidr})` };
}

function ipv6Range(cidr: string, name: string): AddressRange<bigint> {
  const [base = '', prefix = ''] = cidr.split('/');
  return { base: parseIpv6(base), prefix: Number(prefix), name: `${name} (${cidr})` };
}

/** Special-purpose IPv4 ranges (IANA registry): none of them is a public web server. */
const FORBIDDEN_IPV4: readonly AddressRange<number>[] = [
  ipv4Range('0.0.0.0/8', '"this network"'),
  ipv4Range('10.0.0.0/8', 'private'),
  ipv4Range('100.64.0.0/10', 'carrier-grade NAT'),
  ipv4Range('127.0.0.0/8', 'loopback'),
  ipv4Range('169.254.0.0/16', 'link-local'), // includes the cloud metadata service, 169.254.169.254
  ipv4Range('172.16.0.0/12', 'private'),
  ipv4Range('192.0.0.0/24', 'IETF protocol assignments'),
  ipv4Range('192.0.2.0/24', 'documentation'),
  ipv4Range('192.88.99.0/24', '6to4 relay'),
  ipv4Range('192.168.0.0/16', 'private'),
  ipv4Range('198.18.0.0/15', 'benchmarking'),
  ipv4Range('198.51.100.0/24', 'documentation'),
  ipv4Range('203.0.113.0/24', 'documentation'),
  ipv4Range('224.0.0.0/4', 'multicast'),
  ipv4Range('240.0.0.0/4', 'reserved'),
];

/** IPv6 ranges refused outright; forms that embed an IPv4 address are judged by that address instead. */
const FORBIDDEN_IPV6: readonly AddressRange<bigint>[] = [
  ipv6Range('::/128', 'unspecified'),
  ipv6Range('::1/128', 'loopback'),
  ipv6Range('::/96', 'IPv4-compatible'),
  ipv6Range('64:ff9b:1::/48', 'local-use NAT64'),
  ipv6Range('100::/64', 'discard-only'),
  ipv6Range('2001::/23', 'IETF protocol assignments'), // includes Teredo, whose embedded address is obfuscated
  ipv6Range('2001:db8::/32', 'documentation'),
  ipv6Range('3fff::/20', 'documentation'),
  ipv6Range('fc00::/7', 'unique local'),
  ipv6Range('fe80::/10', 'link-local'),
  ipv6Range('fec0::/10', 'site-local'),
  ipv6Range('ff00::/8', 'multicast'),
];

const GLOBAL_UNICAST_IPV6 = ipv6Range('2000::/3', 'global unicast');
const IPV4_MAPPED = ipv6Range('::ffff:0:0/96', 'IPv4-mapped');
const NAT64 = ipv6Range('64:ff9b::/96', 'NAT64');
const SIX_TO_FOUR = ipv6Range('2002::/16', '6to4');

/**
 * Why `address` may not be fetched from (its range, e.g. "loopback (127.0.0.0/8)"), or undefined when it is a
 * public address. Anything that is not an IP address is refused.
 */
export function forbiddenAddressRange(address: string): string | undefined {
  // A zone index ("fe80::1%eth0") only ever goes with link-local and other non-global addresses.
  if (address.includes('%')) return 'scoped (with a zone index)';
  switch (isIP(address)) {
    case 4:
      return forbiddenIpv4Range(parseIpv4(address));
    case 6:
      return forbiddenIpv6Range(parseIpv6(address));
    default:
      return 'not an IP address';
  }
}

function forbiddenIpv4Range(ip: number): string | undefined {
  return FORBIDDEN_IPV4.find((range) => inIpv4Range(ip, range))?.name;
}

function forbiddenIpv6Range(ip: bigint): string | undefined {
  const embedded = Number(ip & 0xffffffffn);
  if (inIpv6Range(ip, IPV4_MAPPED)) return forbiddenEmbedded(IPV4_MAPPED, embedded);
  if (inIpv6Range(ip, NAT64)) return forbiddenEmbedded(NAT64, embedded);
  if (inIpv6Range(ip, SIX_TO_FOUR)) return forbiddenEmbedded(SIX_TO_FOUR, Number((ip >> 80n) & 0xffffffffn));
  const listed = FORBIDDEN_IPV6.find((range) => inIpv6Range(ip, range));
  if (listed !== undefined) return listed.name;
  // Everything outside 2000::/3 is reserved or unassigned: no public server lives there.
  return inIpv6Range(ip, GLOBAL_UNICAST_IPV6) ? undefined : 'reserved (outside 2000::/3)';
}

function forbiddenEmbedded(form: AddressRange<bigint>, ipv4: number): string | undefined {
  const range = forbiddenIpv4Range(ipv4);
  return range === undefined ? undefined : `${form.name} form of a ${range}`;
}

function inIpv4Range(ip: number, range: AddressRange<number>): boolean {
  const shift = 32 - range.prefix;
  return Math.floor(ip / 2 ** shift) === Math.floor(range.base / 2 ** shift);
}

function inIpv6Range(ip: bigint, range: AddressRange<bigint>): boolean {
  const shift = BigInt(128 - range.prefix);
  return ip >> shift === range.base >> shift;
}

/** A dotted-quad IPv4 address (as `isIP` accepts it) as an unsigned 32-bit number. */
function parseIpv4(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

/** An IPv6 address (as `isIP` accepts it, possibly ending in a dotted quad) as a 128-bit number. */
function parseIpv6(address: string): bigint {
  let text = address.toLowerCase();
  const dottedTail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dottedTail) {
    const ipv4 = parseIpv4(dottedTail[2]!);
    text = `${dottedTail[1]!}${Math.floor(ipv4 / 0x10000).toString(16)}:${(ipv4 % 0x10000).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array.from({ length: zeros }, () => '0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

// ---- Wording ----

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

function listInWords(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]!}`;
}
