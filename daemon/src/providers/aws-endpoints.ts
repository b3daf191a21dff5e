import type { EnvironmentVariables } from './outbound.js';
import { parseEndpointUrl } from './provider-common.js';

/**
 * Where the AWS calls go: the partition's public endpoints, unless the environment overrides them the
 * way the AWS SDKs and CLI do (service-specific endpoints, docs.aws.amazon.com/sdkref/latest/guide/
 * feature-ss-endpoints.html): `AWS_ENDPOINT_URL_<SERVICE>` first, then `AWS_ENDPOINT_URL`, and none
 * at all when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
 */

/** The service ids the daemon calls, as they appear in `AWS_ENDPOINT_URL_<ID>`. */
export type AwsServiceId = 'ECR' | 'ECR_PUBLIC' | 'STS';

/** The endpoint for a service: an override from `env`, or `fallback`. */
export function resolveAwsEndpoint(service: AwsServiceId, fallback: string, env: EnvironmentVariables): URL {
  if (env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS']?.toLowerCase() !== 'true') {
    const specific = `AWS_ENDPOINT_URL_${service}`;
    const override = env[specific] ? specific : env['AWS_ENDPOINT_URL'] ? 'AWS_ENDPOINT_URL' : undefined;
    if (override) return parseEndpointUrl('aws-ecr', override, env[override]!);
  }
  return new URL(fallback);
}

/** The partition's DNS suffix for a region (`cn-north-1` → amazonaws.com.cn; GovCloud stays amazonaws.com). */
export function dnsSuffixForRegion(region: string): string {
  if (region.startsWith('cn-')) return 'amazonaws.com.cn';
  if (region.startsWith('us-isob-')) return 'sc2s.sgov.gov';
  if (region.startsWith('us-isof-')) return 'csp.hci.ic.gov';
  if (region.startsWith('us-iso-')) return 'c2s.ic.gov';
  if (region.startsWith('eu-isoe-')) return 'cloud.adc-e.uk';
  if (region.startsWith('eusc-')) return 'amazonaws.eu';
  return 'amazonaws.com';
}

/** Whether a region name looks like one (`eu-west-1`, `us-gov-west-1`, `cn-north-1`). */
export function isRegionName(region: string): boolean {
  return /^[a-z]{2,6}(?:-[a-z0-9]{1,12}){1,3}-\d{1,2}$/.test(region);
}
