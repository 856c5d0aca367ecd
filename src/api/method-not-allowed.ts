/**
 * 405 for a path the API serves asked with a method it does not serve on that path, with `Allow` naming the
 * methods it does; a path it does not serve at all goes on to the 404. Built from the route declarations (the
 * API document's list, which a test holds equal to the routes the app registers), so the two cannot disagree.
 */
import type { RequestHandler } from 'express';
import { HttpError } from './errors';
import type { RouteDocumentation } from './route-definitions';

/**
 * An Express path (`/v1/conversations/:conversationId`) as a pattern matched the way Express matches it: a
 * parameter is one non-empty segment, letters in any case, a trailing slash allowed.
 */
function pathPattern(expressPath: string): RegExp {
  const segments = expressPath.split('/').map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}/?$`, 'i');
}

/** The `Allow` value of a set of methods: HEAD wherever GET is (Express answers it with the GET route). */
export function allowHeader(methods: Iterable<string>): string {
  const allowed = new Set([...methods].map((method) => method.toUpperCase()));
  if (allowed.has('GET')) allowed.add('HEAD');
  return [...allowed].sort().join(', ');
}

export function methodNotAllowed(method: string, path: string, allow: string): HttpError {
  return new HttpError(405, 'MethodNotAllowed', `${method} is not served on ${path}; it serves ${allow}`);
}

export function createMethodNotAllowedHandler(routes: ReadonlyArray<Pick<RouteDocumentation, 'method' | 'path'>>): RequestHandler {
  const patterns = routes.map((route) => ({ method: route.method, pattern: pathPattern(route.path) }));
  return (req, res, next) => {
    const methods = patterns.filter(({ pattern }) => pattern.test(req.path)).map(({ method }) => method);
    if (methods.length === 0) return next();
    const allow = allowHeader(methods);
    // A method the path serves that still came here was refused by its own route's path matching: not ours to judge.
    if (allow.split(', ').includes(req.method)) return next();
    res.set('Allow', allow);
    next(methodNotAllowed(req.method, req.path, allow));
  };
}
