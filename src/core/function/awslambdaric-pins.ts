/**
 * The pinned AWS Lambda runtime interface client for Python (awslambdaric,
 * https://pypi.org/project/awslambdaric/) and its dependencies, with the
 * sha256 of every Linux wheel PyPI serves for them, so that pip installs
 * them with --require-hashes: a changed or substituted wheel is refused.
 *
 * Taken from PyPI's simple index (`Accept: application/vnd.pypi.simple.v1+json`,
 * https://pypi.org/simple/<name>/, field `hashes.sha256`) on 2026-12-07.
 * To move the pin: take the new version's hashes the same way, for
 * cp39-cp314 (as supported) x86_64 and aarch64, manylinux and musllinux.
 */

export interface PinnedPackage {
  name: string;
  version: string;
  sha256: readonly string[];
}

/** awslambdaric 4.2.2: CPython 3.10 to 3.14, Linux x86_64 and aarch64, glibc and musl. */
const awslambdaric422: readonly string[] = [
  '4e53dbdf07c2c56824a7c539aeb65d15ea26858c1d7cdc89edf4d976dd50450f', // awslambdaric-4.2.2-cp310-cp310-manylinux2014_aarch64.manylinux_2_17_aarch64.whl
  '71feb2fb303b73642a433154f2ea9eba8dd8c1da0863a3ff4c3916b9945b0de1', // awslambdaric-4.2.2-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
  '56368496fbf1301e865337f7c19fb36b72470a183368899f9acfe5b9b841866c', // awslambdaric-4.2.2-cp310-cp310-musllinux_1_2_aarch64.whl
  '88cbd39302ca1c93c602f93447d6bd8bdfb3e6025c4d1b719e9b8bb4de559fcc', // awslambdaric-4.2.2-cp310-cp310-musllinux_1_2_x86_64.whl
  '0bfd063e2b4c3f1c58e5a561fab3a15d71ed85dbfacb0a7a693b8d20f1d1c544', // awslambdaric-4.2.2-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.whl
  'ea87f581768a7558b493a59ee9f4de6dcbc6444b888169afa01af71396ed731d', // awslambdaric-4.2.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
  '9675389ff12790343aee64eb38db67a44d8e91978b55d11636646223bb70c812', // awslambdaric-4.2.2-cp311-cp311-musllinux_1_2_aarch64.whl
  '8d8efdc1fbf28b03b6161cf8a7f74ce7f2744759c76534e85cd4a0658c095a76', // awslambdaric-4.2.2-cp311-cp311-musllinux_1_2_x86_64.whl
  '1c6c1a9df7b32043f820204c035c0c9496b8203c8a39331712cb5f058ea6be8f', // awslambdaric-4.2.2-cp312-cp312-manylinux2014_aarch64.manylinux_2_17_aarch64.whl
  'f04e362be24ae21f34beb9ad4847f94ebb915ccd5120925a227f721af20a411d', // awslambdaric-4.2.2-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
  '3a7e112d1592b8be7d400e7bd57c328cd0daa04b9d13f70e8b394ff83bcf5850', // awslambdaric-4.2.2-cp312-cp312-musllinux_1_2_aarch64.whl
  '43da7543b14237014bc2c8331be06b5bac98d1dfa6aa5dddfb22eb6c1d2d8e7b', // awslambdaric-4.2.2-cp312-cp312-musllinux_1_2_x86_64.whl
  'bd3ebafddd6c3283a2c7f121164f304273256c7fe3f9847be44d0c5f6fd2d792', // awslambdaric-4.2.2-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.whl
  '2215bca01bbdbdfa9579bb4204f55d3e91e6dee589b88f8f9d20a285a790c468', // awslambdaric-4.2.2-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
  '2c7fbf6c74b4c52f6fba5f6368b10c3c9523ed9d03702b25568ee4aaa434c0b0', // awslambdaric-4.2.2-cp313-cp313-musllinux_1_2_aarch64.whl
  'a0095493fff41262b23e5da0d0e4eb262be1972fbed5b8ea27062cef3b5db6a8', // awslambdaric-4.2.2-cp313-cp313-musllinux_1_2_x86_64.whl
  '702ead5196cf5ff30dcab997e4e4fca7ba020a258fa5ef996ef95955a0abab25', // awslambdaric-4.2.2-cp314-cp314-manylinux2014_aarch64.manylinux_2_17_aarch64.whl
  'a153a632c70b6bb3f2783bcf609e38182740d812a2424be03a26782484ff6610', // awslambdaric-4.2.2-cp314-cp314-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
  'df56676f3b74055f3e6afef0f31db44547a4bfef1ee4c3a857599ed44a6ed464', // awslambdaric-4.2.2-cp314-cp314-musllinux_1_2_aarch64.whl
  'ef3fe8a8fe22cc1ecce4b4a9a7e3ffbc9a6b04f46c201b4c0a365982d808b2c8', // awslambdaric-4.2.2-cp314-cp314-musllinux_1_2_x86_64.whl
];

/** awslambdaric 4.0.4, the last release with CPython 3.9 wheels. */
const awslambdaric404: readonly string[] = [
  'ab7e4aa123dd1e9b1a24628e595dc14ca17a8fe7485824de2aa26a2536dc15f8', // awslambdaric-4.0.4-cp39-cp39-manylinux2014_aarch64.manylinux_2_17_aarch64.whl
  '4531221790509abf378114d2373a0d1f8b76b65920513b9c48d489501293007a', // awslambdaric-4.0.4-cp39-cp39-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
  '754399adc6953752faa669ab5a863019401e3fd4ebe6b94eb3f2c738dac91a17', // awslambdaric-4.0.4-cp39-cp39-musllinux_1_2_aarch64.whl
  '2b34b35690b06bda4dc259fa1cb9b8ff19492411af97a4681896b66b448fca28', // awslambdaric-4.0.4-cp39-cp39-musllinux_1_2_x86_64.whl
];

/** simplejson 4.3.0 (awslambdaric needs >=3.20.1): CPython 3.9 to 3.14, Linux x86_64 and aarch64. */
const simplejson430: readonly string[] = [
  '9e245f76fc0f7c621ff427a18263f866bf73af0222552ee5db07a73263af1e4a', // simplejson-4.3.0-cp310-cp310-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl
  'e567f26e2ebeed3309f8e1f3a12b7a67170b5bd333b1c6e1acfe8a27b82f8714', // simplejson-4.3.0-cp310-cp310-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl
  'e5a639df5541ca018df34493633cd696afd3b862d18059c6f16c136800d8d56d', // simplejson-4.3.0-cp310-cp310-musllinux_1_2_aarch64.whl
  '53b6b6eaa4d7e9dcdcca71a072c2c9b771f13eea3a7d2b113b9eb612c092c6d6', // simplejson-4.3.0-cp310-cp310-musllinux_1_2_x86_64.whl
  '06306ed92b3860802ad9dd7fe88f122a7360b01e3936b8a355d6d689bb2bb774', // simplejson-4.3.0-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl
  '82a24d31f06deea3ba1814c4c79f54b1573a3574b8a7c598b6a7f41ac488e047', // simplejson-4.3.0-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl
  '7c5dc05131f63dcaa3e3eb69d63f7b0c6c7f2f8654b2f8967c9f5c882ab175da', // simplejson-4.3.0-cp311-cp311-musllinux_1_2_aarch64.whl
  '7b5b912598a31d3b6e73ab5c480bad646adf71551a19888b8ad1669c1f382ab2', // simplejson-4.3.0-cp311-cp311-musllinux_1_2_x86_64.whl
  'ce5726e85a8462580b3c3f5098e9bcaa2d10dfd28233451aad5638a9d16b6d1c', // simplejson-4.3.0-cp312-cp312-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl
  '213ce37252f42ff591a8e802c634185a37d1fc79a8356afab5b8271343dd6678', // simplejson-4.3.0-cp312-cp312-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl
  'e8dec35d0f0b5392effa503792e513452c45da0e7b2123ab5c8dd302e5a9ecc2', // simplejson-4.3.0-cp312-cp312-musllinux_1_2_aarch64.whl
  '8c33feae0878de0350a30c89212c58b2c2d027f1efef56d25fed4b036d58e62c', // simplejson-4.3.0-cp312-cp312-musllinux_1_2_x86_64.whl
  '2091df1a8ad3ab6920d5f47527548cfd7a636bc09d91b824db23c7e0c1ddbef2', // simplejson-4.3.0-cp313-cp313-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl
  '067473d6df8c185d6b32926373de6c0069c5b351b3caa340eb547db42c722bc7', // simplejson-4.3.0-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl
  'b40c6a352e873532b56743dce861efcc8c7f072e4b120775818bc02ef6d89901', // simplejson-4.3.0-cp313-cp313-musllinux_1_2_aarch64.whl
  'c76591e12281d590c128c79880bc4ec46e2ed77f14646b45a83daed8a8e69f06', // simplejson-4.3.0-cp313-cp313-musllinux_1_2_x86_64.whl
  'c0eb226f43b76c1056d90b7e6998d5be3ed3f29e4467ecc4ee50c30d73c27fec', // simplejson-4.3.0-cp314-cp314-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl
  'cd2819abdf930e4d6a6d68b1664fe1c817e69e116ecbb3c423725fe5e7ac5913', // simplejson-4.3.0-cp314-cp314-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl
  'ee64f1392c3e21ddda05769e1ec6a837764ec145b8a7fd6ea9af0469be4c3eb2', // simplejson-4.3.0-cp314-cp314-musllinux_1_2_aarch64.whl
  'a595c484331458e0f1e68bde50e0821d634506c225ceb1f3904e4ced0b8eea01', // simplejson-4.3.0-cp314-cp314-musllinux_1_2_x86_64.whl
  '3c9e042acb55c9ca24c8e4bf46623b5ee03b28fc115380f20d9ee42d8509dbfd', // simplejson-4.3.0-cp39-cp39-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl
  '8d115cc49b89c20d464008a5e945e9847214f72095b57c1305530ee6bd6eeaaa', // simplejson-4.3.0-cp39-cp39-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl
  'ace280946646384455b0bf2b91b8219598b140ecb6b0f0ada93e6b4eb2d9cd1a', // simplejson-4.3.0-cp39-cp39-musllinux_1_2_aarch64.whl
  '3052e8dd323ac912cb8020105b557b93fa86c061257f236bd7f3b4d792513e22', // simplejson-4.3.0-cp39-cp39-musllinux_1_2_x86_64.whl
];

/** snapshot-restore-py 1.0.0 (awslambdaric needs >=1.0.0): pure Python. */
const snapshotRestore100: readonly string[] = [
  '38f99e696793790f54658e71c68c7a8a40cea877c81232b5052383b1301aceba', // snapshot_restore_py-1.0.0-py3-none-any.whl
];

const dependencies: PinnedPackage[] = [
  { name: 'simplejson', version: '4.3.0', sha256: simplejson430 },
  { name: 'snapshot-restore-py', version: '1.0.0', sha256: snapshotRestore100 },
];

/** What pip installs for a CPython 3.<minor>: awslambdaric 4.2.2 (4.0.4 on 3.9, which 4.1 dropped) and its dependencies. */
export function awslambdaricPins(minor: number): PinnedPackage[] | undefined {
  if (minor === 9) return [{ name: 'awslambdaric', version: '4.0.4', sha256: awslambdaric404 }, ...dependencies];
  if (minor >= 10 && minor <= 14) {
    return [{ name: 'awslambdaric', version: '4.2.2', sha256: awslambdaric422 }, ...dependencies];
  }
  return undefined;
}

/** A requirements file pip reads with --require-hashes. */
export function requirementsText(pins: readonly PinnedPackage[]): string {
  return pins
    .map((pin) =>
      [`${pin.name}==${pin.version}`, ...pin.sha256.map((hash) => `--hash=sha256:${hash}`)].join(' \\\n    '),
    )
    .join('\n')
    .concat('\n');
}
