/** What the guard does when the account is protected (production with live traffic). */
export class GuardMode {
  /** Lock agent roles while the account is protected. The default. */
  public static readonly ENFORCE = new GuardMode('ENFORCE');
  /**
   * Leave every agent role open, and only log and publish "would lock". For a trial run before
   * enforcing: agents are not held back, but the status shows what enforcement would do. The
   * boundary's anti-tamper statements apply in both modes.
   */
  public static readonly MONITOR = new GuardMode('MONITOR');

  /**
   * A mode chosen at deploy time: a CloudFormation parameter token that resolves to `ENFORCE` or
   * `MONITOR`, so one StackSet template can enforce in some OUs and monitor in others.
   *
   * @internal
   */
  public static _deployTime(name: string): GuardMode {
    return new GuardMode(name);
  }

  private constructor(
    /** The mode's name, as the guard's status reports it. */
    public readonly name: string,
  ) {}
}
