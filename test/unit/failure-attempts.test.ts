/**
 * The attempt an activity failed on crosses to the workflow beside the failure's details (so a parked event says
 * how often it was tried), and `failureOf` hands it over apart from them (so a failed send shows only Meta's codes).
 */
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { ActivityError, toApplicationFailure } from '../../src/activities/failures';
import { RecipientUnavailableError } from '../../src/domain/errors';
import { failureOf, FailureType } from '../../src/temporal/failures';

/** What the workflow receives once the attempts are spent: the last attempt's failure as the cause. */
const afterRetries = (cause: ApplicationFailure): ActivityFailure => new ActivityFailure('activity failed', 'recordInboundEvent', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);

describe('the attempt of a failure', () => {
  it('is read apart from the details, for the engine’s own errors, the domain’s and anything else', () => {
    expect(failureOf(afterRetries(toApplicationFailure(new TypeError("Cannot read properties of null (reading 'postback')"), 10)))).toEqual({
      type: FailureType.Unexpected,
      message: "Cannot read properties of null (reading 'postback')",
      details: {},
      attempt: 10,
    });
    expect(failureOf(toApplicationFailure(new ActivityError(FailureType.AccountNotActive, 'not linked'), 3))).toMatchObject({ type: 'AccountNotActive', details: {}, attempt: 3 });
    const refused = failureOf(toApplicationFailure(new RecipientUnavailableError('not_receiving', 'the customer is not receiving messages (Meta 551)', { code: 551 }), 1));
    expect(refused).toEqual({ type: 'RecipientUnavailable', message: 'the customer is not receiving messages (Meta 551)', details: { code: 551, reason: 'not_receiving' }, attempt: 1 });
  });

  it('is absent when the activity did not say (called outside an activity, or a failure built elsewhere)', () => {
    expect(failureOf(toApplicationFailure(new Error('boom')))).toEqual({ type: FailureType.Unexpected, message: 'boom', details: {} });
    expect(failureOf(ApplicationFailure.create({ type: FailureType.EventNotFound, message: 'no event', details: [{ attempt: 'x' }] })).attempt).toBeUndefined();
  });
});
