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
// - SigV4 header requests need an x-amz-content-sha256 header (as S3). On a PUT of an object or
//   a part, a value of 64 hex digits must be the SHA-256 of the body, else 400
//   XAmzContentSHA256Mismatch and nothing is stored (added below, as S3); on other requests
//   (DeleteObjects) it is not checked (*). A presigned request that sends the header uses its
//   value as the payload hash of the signature (as S3: sign it, X-Amz-SignedHeaders=
//   host;x-amz-content-sha256) and its PUT body is checked the same way. Anonymous requests get
//   403 AccessDenied (added below).
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
const { pipeline, Transform } = require('stream');

// s3rver accepts any x-amz-content-sha256; S3 hashes the body it receives and refuses one that
// differs from a declared SHA-256, storing nothing. The object and part PUT handlers mark the
// body stream with the declared digest (the header, or an X-Amz-Content-Sha256 query parameter,
// which s3rver's authentication has merged into the headers), and putContent below checks it.
const declaredSha256 = Symbol('x-amz-content-sha256');
const objectController = require('@20minutes/s3rver/lib/controllers/object');
for (const name of ['putObject', 'uploadPart']) {
    const handler = objectController[name];
    objectController[name] = async function (ctx) {
        const declared = ctx.get('x-amz-content-sha256');
        if (/^[0-9a-fA-F]{64}$/.test(declared)) ctx.req[declaredSha256] = declared.toLowerCase();
        return handler.call(this, ctx);
    };
}

// s3rver writes an object in place (truncate, then write), so a reader racing a PUT sees a
// prefix of the new bytes; S3 makes a PUT visible whole or not at all. Write to a temporary file
// beside it and rename(2) it over the object, so a GET opens the old file or the new one; and
// when the body was declared with a SHA-256 it does not have, rename nothing: the old object (or
// none) stays.
const FilesystemStore = require('@20minutes/s3rver/lib/stores/filesystem');
const putContent = FilesystemStore.prototype.putContent;
FilesystemStore.prototype.putContent = async function (objectPath, content) {
    const tmp = `${objectPath}.tmp-${crypto.randomBytes(8).toString('hex')}`;
    const declared = content && content[declaredSha256];
    const hash = declared ? crypto.createHash('sha256') : null;
    if (hash) { // content is the request: a stream
        const hashing = new Transform({
            transform(chunk, encoding, callback) {
                hash.update(chunk);
                callback(null, chunk);
            },
        });
        pipeline(content, hashing, () => {}); // an error of either ends the other
        content = hashing;
    }
    try {
        const result = await putContent.call(this, tmp, content);
        const computed = hash && hash.digest('hex');
        if (hash && computed !== declared) {
            const err = new S3Error('XAmzContentSHA256Mismatch',
                'The provided x-amz-content-sha256 header does not match what was computed.',
                { ClientComputedContentSHA256: declared, S3ComputedContentSHA256: computed });
            err.status = 400; // s3rver's table lacks the code: it would answer 500
            err.expose = true;
            throw err;
        }
        await fs.promises.rename(tmp, objectPath);
        return result;
    } catch (err) {
        await fs.promises.rm(tmp, { force: true });
        throw err;
    }
};
// s3rver prunes the directories a DELETE leaves empty with a RECURSIVE rm, after checking they
// are empty: an object another request writes into one of them in between is deleted with it
// (two test processes sharing the bucket lost a just-written pack this way). S3 has no
// directories to lose. Prune with rmdir(2), which refuses a directory that is no longer empty.
const path = require('path');
FilesystemStore.prototype.deleteObject = async function (bucket, key) {
    await Promise.all(['object', 'object.md5', 'metadata.json'].map((resource) =>
        fs.promises.unlink(this.getResourcePath(bucket, key, resource)).catch((err) => {
            if (err.code !== 'ENOENT') throw err;
        })));
    const parts = FilesystemStore.encodeKeyPath(key).split('/'); // as getResourcePath spells it
    parts.pop(); // the last part is in the file name, not a directory
    for (; parts.length; parts.pop()) {
        try {
            await fs.promises.rmdir(path.join(this.getBucketPath(bucket), ...parts));
        } catch (err) {
            if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST' || err.code === 'ENOENT') break;
            throw err;
        }
    }
};

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
