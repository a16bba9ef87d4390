'use strict';
// Throwaway S3 server for musehub's tests: @20minutes/s3rver 4.0.4, which checks SigV4 signatures
// (Authorization header and presigned URLs), on 127.0.0.1, path-style URLs only.
//
//   node s3-server.js DATA_DIR [PORT] [BUCKET]     PORT 0 (the default) lets the kernel pick one
//
// Prints "s3-server: ready http://127.0.0.1:PORT BUCKET SECONDS" once it is listening and BUCKET
// exists (SECONDS: time since node started).
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment, else the defaults
// below (scripts/servers.sh sets both). S3RVER_VERBOSE=1 logs every request.
// Node 18/20 need NODE_OPTIONS=--openssl-legacy-provider (checked below).
//
// What a client must know (checked with curl; real S3 differs where marked *):
// - SigV4 header requests need an x-amz-content-sha256 header (as S3), but a value that does not
//   match the body is accepted (*). Anonymous requests get 403 AccessDenied (added below).
// - Bucket-level URLs must have no trailing slash: /bucket?list-type=2 works, /bucket/?list-type=2
//   gets SignatureDoesNotMatch (*): the server signs the path without the slash.
// - Range: bytes=-N (suffix) returns the first N+1 bytes (*); a multi-range answers 206 with the
//   whole object (*). bytes=A-B, bytes=A- and 416 InvalidRange are right.
// - ListObjectsV2: keys with & < > ' come back escaped twice (&amp;amp;) (*); encoding-type=url is
//   ignored (*); the xmlns is wrong (*). Continuation tokens are base64: percent-encode them.
// - DeleteObjects: Content-MD5 is not checked (*), Quiet is ignored (*).
// - No conditional writes (If-None-Match/If-Match on PUT are ignored) (*); chunked PUT without a
//   Content-Length is accepted (*); a key with an empty segment (a//b) gets 404 (*).
const crypto = require('crypto');
const fs = require('fs');
const S3rver = require('@20minutes/s3rver');
// The package has no "exports" map, so its internals can be required.
const AWSAccount = require('@20minutes/s3rver/lib/models/account');
const S3Error = require('@20minutes/s3rver/lib/models/error');

const [dir, port = '0', bucket = 'musehub-test'] = process.argv.slice(2);
if (!dir) {
    console.error('usage: node s3-server.js DATA_DIR [PORT] [BUCKET]');
    process.exit(2);
}
// s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy
// provider; without it every paginated listing answers 500, so refuse to start instead.
try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
} catch {
    console.error('s3-server: DES is unavailable: run node with NODE_OPTIONS=--openssl-legacy-provider');
    process.exit(1);
}

const keyId = process.env.AWS_ACCESS_KEY_ID || 'MUSEHUBTESTKEY000001';
const secret = process.env.AWS_SECRET_ACCESS_KEY || 'musehub/test+secret/0123456789abcdefABCD';

// s3rver has one hard-coded account with the key pair S3RVER/S3RVER: swap in ours.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(keyId, secret);

fs.mkdirSync(dir, { recursive: true });
const server = new S3rver({
    address: '127.0.0.1',
    port: Number(port),
    directory: dir,
    silent: process.env.S3RVER_VERBOSE !== '1',
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
});

// s3rver serves requests that carry no signature at all as anonymous ones; S3 with a private
// bucket refuses them, and so do we, so a client that forgets to sign fails here too.
server.middleware.unshift(async (ctx, next) => {
    const signed = 'authorization' in ctx.headers ||
        'X-Amz-Algorithm' in ctx.query || 'Signature' in ctx.query;
    if (!signed) throw new S3Error('AccessDenied', 'Access Denied');
    await next();
});

server.run().then(
    (address) => console.log(`s3-server: ready http://127.0.0.1:${address.port} ${bucket} ` +
        process.uptime().toFixed(2)),
    (err) => {
        console.error(`s3-server: ${err.message}`);
        process.exit(1);
    });
