/** SPEC "Close codes". */
export const CloseCode = {
  goingAway: 1001,
  tooLarge: 1009,
  credentialsInvalidated: 4003,
  policy: 4008,
  replaced: 4009,
} as const;
