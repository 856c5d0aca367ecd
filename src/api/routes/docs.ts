/**
 * The API's own description: `GET /openapi.json` (generated from the route declarations) and `GET /docs`, a
 * reference page rendered in the browser by Swagger UI, whose files are served from node_modules (no CDN).
 */
import path from 'node:path';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { allowHeader, methodNotAllowed } from '../method-not-allowed';
import type { OpenApiDocument } from '../openapi';
import { defineRoute, type RouteDefinition } from '../route-definitions';

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Instagram DM engine: API reference</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>
`;

const INIT_SCRIPT = `window.onload = function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });
};
`;

/** Only the files the page loads: the package's own index.html would point at a demo document on the internet. */
const SWAGGER_UI_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png']);

/** Serves `/docs/assets/*`: Swagger UI's files and the page's start script. */
export function createDocsAssetsHandler(): RequestHandler {
  const directory = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  return (req, res, next) => {
    const name = req.path.replace(/^\//, '');
    if (name !== 'init.js' && !SWAGGER_UI_FILES.has(name)) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const allow = allowHeader(['GET']);
      res.set('Allow', allow);
      return next(methodNotAllowed(req.method, req.baseUrl + req.path, allow));
    }
    if (name === 'init.js') {
      res.type('application/javascript').send(INIT_SCRIPT);
      return;
    }
    res.sendFile(path.join(directory, name), { maxAge: '1h' });
  };
}

export function createDocsRoutes(getDocument: () => OpenApiDocument): RouteDefinition[] {
  const tags = ['documentation'];
  return [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openApiDocument',
      summary: 'This document (OpenAPI 3.1)',
      tags,
      auth: 'none',
      responses: { 200: { description: 'The OpenAPI 3.1 document of the API', schema: z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }) } },
      handler: () => ({ status: 200, body: getDocument() }),
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      operationId: 'apiReference',
      summary: 'The API reference, for a browser',
      tags,
      auth: 'none',
      responses: { 200: { description: 'An HTML page that renders /openapi.json', contentType: 'text/html', schema: z.string() } },
      handler: () => ({
        status: 200,
        body: DOCS_PAGE,
        // The page loads nothing from elsewhere; Swagger UI sets inline styles.
        headers: { 'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'" },
      }),
    }),
  ];
}
