import { Arn, ArnFormat, Token } from 'aws-cdk-lib';
import { OU_PATH_PATTERN, ProductionSource } from './core/config';

/** Options of {@link ProductionSignal.fromAccountTags}. */
export interface AccountTagsOptions {
  /**
   * The account tag (in AWS Organizations) that marks production.
   *
   * @default 'environment'
   */
  readonly tagKey?: string;
  /**
   * Values of the tag that mean production, compared with case.
   *
   * @default ['production', 'prod']
   */
  readonly values?: string[];
  /**
   * A role in the management or delegated-administrator account that the guard assumes to read
   * Organizations (`organizations:ListTagsForResource`, or `ListParents` for an OU path). Its trust
   * policy must let the guard's function role assume it.
   *
   * @default - Organizations is read with the guard's own role, which works only in the management
   * or delegated-administrator account; elsewhere every read fails and the account counts as production
   */
  readonly organizationsRoleArn?: string;
}

/** Options of {@link ProductionSignal.fromOrganizationalUnit}. */
export interface OrganizationalUnitOptions {
  /**
   * OU ids from the root down, such as `r-ab12/ou-ab12-11111111`. The account counts as production
   * when it sits in this OU or any OU below it.
   */
  readonly ouPath: string;
  /**
   * See {@link AccountTagsOptions.organizationsRoleArn}.
   *
   * @default - the guard's own role
   */
  readonly organizationsRoleArn?: string;
}

/**
 * Where the guard learns whether its account is production. Whatever the source, a failed lookup
 * counts as production.
 */
export class ProductionSignal {
  /**
   * An AWS Organizations account tag. Answers are cached for 15 minutes.
   */
  public static fromAccountTags(options: AccountTagsOptions = {}): ProductionSignal {
    const tagKey = options.tagKey ?? 'environment';
    const values = options.values ?? ['production', 'prod'];
    if (tagKey.length === 0 || tagKey.length > 128) {
      throw new Error(`ProductionSignal.fromAccountTags: tagKey '${tagKey}' must be 1 to 128 characters.`);
    }
    if (values.length === 0 || values.some((v) => v.length === 0)) {
      throw new Error('ProductionSignal.fromAccountTags: give at least one non-empty tag value that means production.');
    }
    return new ProductionSignal(
      { source: 'account-tags', tagKey, values, roleArn: roleArn(options.organizationsRoleArn) },
      options.organizationsRoleArn,
    );
  }

  /** Membership of an organizational unit, or any OU below it. Answers are cached for 15 minutes. */
  public static fromOrganizationalUnit(options: OrganizationalUnitOptions): ProductionSignal {
    if (!OU_PATH_PATTERN.test(options.ouPath)) {
      throw new Error(
        `ProductionSignal.fromOrganizationalUnit: ouPath '${options.ouPath}' must be OU ids from the root down, ` +
          "such as 'r-ab12/ou-ab12-11111111'.",
      );
    }
    return new ProductionSignal(
      { source: 'organizational-unit', ouPath: options.ouPath, roleArn: roleArn(options.organizationsRoleArn) },
      options.organizationsRoleArn,
    );
  }

  /** A fixed answer: for accounts whose role never changes, or for tests. No Organizations access. */
  public static fromValue(production: boolean): ProductionSignal {
    return new ProductionSignal({ source: 'fixed', production }, undefined);
  }

  private constructor(
    /** @internal */
    public readonly _json: ProductionSource,
    /** The role the guard assumes to read Organizations, if any. */
    public readonly organizationsRoleArn: string | undefined,
  ) {}
}

function roleArn(arn: string | undefined): string | undefined {
  if (arn === undefined || Token.isUnresolved(arn)) return arn;
  const parts = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME);
  if (parts.service !== 'iam' || parts.resource !== 'role') {
    throw new Error(`organizationsRoleArn '${arn}' must be an IAM role ARN (arn:aws:iam::<account>:role/<name>).`);
  }
  return arn;
}
