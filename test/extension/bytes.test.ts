// Key and value bytes shown safely: escaping, hex, prefix ends, typed keys, language sniffing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayBytes, fromHex, guessLanguage, isPlainText, parseKeyInput, prefixEnd, previewValue, toBytes, toHex } from '../../src/keys/bytes.ts';

test('prefixEnd is etcd’s GetPrefixRangeEnd', () => {
  assert.deepEqual([...prefixEnd(toBytes('abc'))], [...toBytes('abd')]);
  assert.deepEqual([...prefixEnd(new Uint8Array([0x61, 0xff]))], [0x62]);
  assert.deepEqual([...prefixEnd(new Uint8Array([0xff, 0xff]))], [0]);
  assert.deepEqual([...prefixEnd(new Uint8Array([]))], [0]);
});

test('displayBytes escapes controls and bytes that are not UTF-8, and parseKeyInput reads it back', () => {
  assert.equal(displayBytes(toBytes('/app/ключ')), '/app/ключ');
  assert.equal(displayBytes(toBytes('a\nb\tc\\')), 'a\\nb\\tc\\\\');
  const binary = new Uint8Array([0x2f, 0x62, 0xff, 0x00, 0xc3, 0xa9]);
  assert.equal(displayBytes(binary), '/b\\xff\\x00é');
  assert.deepEqual([...parseKeyInput(displayBytes(binary))], [...binary]);
  assert.deepEqual([...parseKeyInput('plain/key')], [...toBytes('plain/key')]);
  assert.equal(isPlainText(toBytes('ok/key')), true);
  assert.equal(isPlainText(binary), false);
});

test('hex round trip and invalid hex', () => {
  assert.equal(toHex(toBytes('AZ')), '415a');
  assert.deepEqual([...fromHex('415a')!], [0x41, 0x5a]);
  assert.equal(fromHex('41x'), undefined);
  assert.equal(fromHex('abc'), undefined);
});

test('previewValue shows text or hex', () => {
  assert.equal(previewValue(toBytes('hello')), 'hello');
  assert.match(previewValue(new Uint8Array([0, 1, 2, 255])), /^hex 000102ff/);
});

test('guessLanguage: JSON, YAML, plain', () => {
  assert.equal(guessLanguage(toBytes('{"a": [1, 2]}')), 'json');
  assert.equal(guessLanguage(toBytes('[1,2]')), 'json');
  assert.equal(guessLanguage(toBytes('{not json}')), 'plaintext');
  assert.equal(guessLanguage(toBytes('name: x\nport: 80\nlist:\n  - a\n')), 'yaml');
  assert.equal(guessLanguage(toBytes('---\na: 1')), 'yaml');
  assert.equal(guessLanguage(toBytes('just text')), 'plaintext');
  assert.equal(guessLanguage(new Uint8Array([0, 1, 2])), 'plaintext');
});
