/**
 * Replies from the inbox: send a text or an image to a conversation's customer (202 at once, or the outcome with
 * `?wait=sent`), read a reply's status, close a conversation. Every route needs a manager's API key and answers
 * only for that manager's channel. The rules live in the send service; this file only reads and answers.
 */
import { z } from 'zod';
import type { Message } from '../../db/models/message';
import { MAX_IMAGE_BYTES } from '../../domain/media';
import { MAX_TEXT_BYTES } from '../../domain/text';
import type { SendAnswer, SendRequest, SendService } from '../../outbound/send-service';
import { errorBodySchema } from '../errors';
import { conversationSchema, messageSchema, presentConversation, presentMessage } from '../presenters';
import { defineRoute, errorResponse, type RouteDefinition } from '../route-definitions';

export interface OutboundRoutesDeps {
  sends: SendService;
  now: () => number;
}

const id = z.string().min(1);
const sender = z.enum(['manager', 'bot']).default('manager').describe("`manager`: the key's manager writes; `bot`: the inbox's automation (only within 24 hours of the customer's last message)");
const text = z.string().min(1).describe(`At most ${MAX_TEXT_BYTES} UTF-8 bytes, unless \`split\` is true`);
const split = z.boolean().default(false).describe('Send a text over the limit as several messages, in order, cut between words');

const sendJsonBody = z
  .object({
    sender,
    text: text.optional(),
    split,
    image: z
      .object({ url: z.url({ protocol: /^https?$/ }).describe('JPG, PNG, ICO or BMP, at most 8 MB; fetched and checked by the engine') })
      .strict()
      .optional(),
  })
  .strict()
  .refine((body) => (body.text === undefined) !== (body.image === undefined), { message: 'give exactly one of text or image' });

const sendMultipartFields = z
  .object({
    sender,
    text: text.optional(),
    split: z.enum(['true', 'false']).default('false').describe('"true" to split a long text'),
  })
  .strict();

const messagesAnswer = z.object({ messages: z.array(messageSchema) });
const refusalAnswer = errorBodySchema.extend({ messages: z.array(messageSchema).describe('The messages, marked failed with the reason') });

export function createOutboundRoutes(deps: OutboundRoutesDeps): RouteDefinition[] {
  const { sends } = deps;
  const tags = ['replies'];
  const present = (messages: Message[]) => messages.map((message) => presentMessage(message, deps.now()));

  const reply = (answer: SendAnswer) => {
    if (answer.status === 409) {
      const refusal = answer.refusal ?? { type: 'Refused', message: 'the conversation refused the message' };
      return { status: 409 as const, body: { error: refusal, messages: present(answer.messages) } };
    }
    return { status: answer.status, body: { messages: present(answer.messages) } };
  };

  return [
    defineRoute({
      method: 'post',
      path: '/v1/conversations/:conversationId/messages',
      operationId: 'sendMessage',
      summary: 'Reply to the customer',
      description: [
        'Stores the reply as `queued` and answers 202 at once; the conversation sends its replies one at a time, in the order accepted, retrying what Meta fails for a while and waiting out rate limits.',
        'Within 24 hours of the customer’s last message a reply goes out as a standard reply; from 24 hours to 7 days only a manager’s reply, with the HUMAN_AGENT tag; after 7 days the conversation is closed.',
        'With `?wait=sent` the answer waits (at most about 10 s) for the outcome: 200 when every message reached `sent`, `failed` or `unknown`, else 202.',
        'A text over 1,000 UTF-8 bytes is refused (422) unless `split` is true; an image is checked by its bytes (JPG, PNG, ICO or BMP, at most 8 MB; ICO and BMP are sent as PNG).',
        'The same `Idempotency-Key` within 24 hours answers the first answer again and sends nothing twice.',
      ].join(' '),
      tags,
      auth: 'manager',
      params: z.object({ conversationId: id }),
      query: z.object({ wait: z.enum(['sent']).optional().describe('`sent`: wait for the outcome') }).strict(),
      headers: z.object({ 'Idempotency-Key': z.string().min(1).max(200).optional().describe('Any unique string; repeats within 24 hours return the first answer') }),
      body: {
        description: 'A text or an image (by URL as JSON, or uploaded as multipart/form-data with the file in `image`)',
        required: true,
        json: sendJsonBody,
        multipart: { fields: sendMultipartFields, files: { image: { description: 'The image file', required: true, mediaTypes: ['image/jpeg', 'image/png', 'image/x-icon', 'image/bmp'], maxBytes: MAX_IMAGE_BYTES } } },
      },
      responses: {
        200: { description: 'Every message reached its outcome (with `?wait=sent`)', schema: messagesAnswer },
        202: { description: 'Queued (or still on its way)', schema: messagesAnswer },
        400: errorResponse('ValidationFailed: the field named'),
        404: errorResponse('NotFound: no such conversation in this key’s channel'),
        409: {
          description:
            'Refused by the conversation: ConversationClosed, CustomerNeverWrote, WindowClosed, BotOutsideStandardWindow, AccountNotLinked, AccountNotActive, IdempotencyKeyInProgress',
          schema: refusalAnswer,
        },
        413: errorResponse('PayloadTooLarge: the upload is over 8 MB'),
        415: errorResponse('UnsupportedMediaType: send JSON or multipart/form-data'),
        422: errorResponse('TextTooLong (with bytes and limit) or MediaRejected (with what was found), IdempotencyKeyReused'),
        503: errorResponse('TemporalUnavailable: the conversation could not be reached; nothing was sent'),
      },
      handler: async ({ params, query, headers, body, caller }) => {
        const request: SendRequest =
          body.kind === 'json'
            ? { sender: body.value.sender, split: body.value.split, ...(body.value.text === undefined ? {} : { text: body.value.text }), ...(body.value.image ? { imageUrl: body.value.image.url } : {}) }
            : {
                sender: body.fields.sender,
                split: body.fields.split === 'true',
                ...(body.fields.text === undefined ? {} : { text: body.fields.text }),
                ...(body.files.image ? { upload: { bytes: body.files.image.data, filename: body.files.image.filename || null } } : {}),
              };
        const answer = await sends.send({
          manager: caller.manager,
          conversationId: params.conversationId,
          request,
          waitForOutcome: query.wait === 'sent',
          ...(headers['Idempotency-Key'] === undefined ? {} : { idempotencyKey: headers['Idempotency-Key'] }),
        });
        return reply(answer);
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/conversations/:conversationId/messages/:messageId',
      operationId: 'getMessage',
      summary: 'One message, with its status',
      description: '`queued`, `sending`, `sent` (with Meta’s `mid` and time), `failed` (with Meta’s code, subcode and a reason) or `unknown` (Meta may or may not have sent it: check Instagram before sending again).',
      tags,
      auth: 'manager',
      params: z.object({ conversationId: id, messageId: id }),
      responses: {
        200: { description: 'The message', schema: z.object({ message: messageSchema }) },
        404: errorResponse('NotFound: no such message in this conversation, or no such conversation in this key’s channel'),
      },
      handler: async ({ params, caller }) => {
        const message = await sends.getMessage(caller.manager, params.conversationId, params.messageId);
        return { status: 200, body: { message: presentMessage(message, deps.now()) } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/conversations/:conversationId/close',
      operationId: 'closeConversation',
      summary: 'Close the conversation now',
      description: 'Replies still queued fail with the reason; the customer’s next message opens a new conversation. Closing a closed conversation answers it as it is.',
      tags,
      auth: 'manager',
      params: z.object({ conversationId: id }),
      responses: {
        200: { description: 'The closed conversation', schema: z.object({ conversation: conversationSchema }) },
        202: { description: 'Closing: a send attempt under way finishes first; read the conversation again shortly', schema: z.object({ conversation: conversationSchema }) },
        404: errorResponse('NotFound: no such conversation in this key’s channel'),
        503: errorResponse('TemporalUnavailable: the conversation could not be reached'),
      },
      handler: async ({ params, caller }) => {
        const { conversation, closed } = await sends.close(caller.manager, params.conversationId);
        return { status: closed ? 200 : 202, body: { conversation: presentConversation(conversation) } };
      },
    }),
  ];
}
