/**
 * `GET /media/:mediaId`: the checked images the engine sends, fetched from here by Meta (no key: the 64-hex id is
 * the key, as with Meta's own CDN links). Served by hand because the answer is the image's bytes.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Models } from '../../db/models';
import { loadMedia } from '../../outbound/media-store';
import { errorBodySchema } from '../errors';
import { notFound } from '../auth';
import type { RouteDocumentation } from '../route-definitions';

export function createMediaRouter(deps: { models: Pick<Models, 'mediaFiles'> }): Router {
  const router = Router();
  router.get('/media/:mediaId', async (req, res) => {
    const media = await loadMedia(deps.models, req.params.mediaId);
    if (!media) throw notFound(`media ${req.params.mediaId}`);
    res.set('cache-control', 'private, max-age=86400').type(media.contentType).send(media.bytes);
  });
  return router;
}

export const mediaRouteDocs: RouteDocumentation[] = [
  {
    method: 'get',
    path: '/media/:mediaId',
    operationId: 'getMedia',
    summary: 'An image a reply sends (what Meta fetches)',
    tags: ['replies'],
    auth: 'none',
    params: z.object({ mediaId: z.string().regex(/^[0-9a-f]{64}$/) }),
    responses: {
      200: { description: 'The image (PNG or JPEG)', contentType: 'image/png', schema: z.string().describe('the image bytes') },
      400: { description: 'InvalidPathEncoding: the id is not valid percent-encoded UTF-8', schema: errorBodySchema },
      404: { description: 'NotFound', schema: errorBodySchema },
    },
  },
];
