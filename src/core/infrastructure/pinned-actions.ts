/**
 * The actions the generated workflows use, pinned to the full commit SHA of a
 * release tag (a tag can be moved; a commit cannot), with the tag as a comment.
 */
export const pinnedActions = {
  checkout: { sha: '3d3c42e5aac5ba805825da76410c181273ba90b1', version: 'v7.0.1' },
  setupGo: { sha: 'b7ad1dad31e06c5925ef5d2fc7ad053ef454303e', version: 'v7.0.0' },
  setupNode: { sha: '820762786026740c76f36085b0efc47a31fe5020', version: 'v7.0.0' },
  uploadArtifact: { sha: 'bbbca2ddaa5d8feaa63e36b76fdaad77386f024f', version: 'v7.0.0' },
  downloadArtifact: { sha: '3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c', version: 'v8.0.1' },
  configureAwsCredentials: { sha: 'e6de054238d6b7531b4efff3b6587d9aade6a06c', version: 'v6.2.3' },
} as const;

/** What the generated CDK app depends on (its package.json takes `^` ranges of these). */
export const cdkVersions = {
  awsCdkLib: '2.276.0',
  awsCdk: '2.1148.1',
  constructs: '10.8.1',
} as const;
