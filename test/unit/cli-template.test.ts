// The --format template engine against what Go's text/template (and docker's
// template functions) print for the same data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from '../../src/cli/template.ts';
import { TemplateError } from '../../src/cli/template-error.ts';

const net = {
  Name: 'net1',
  Id: '0123456789abcdef',
  EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.1.0.0/24', Gateway: '10.1.0.1' }, { Subnet: 'fd00::/64' }] },
  Options: { 'com.docker.network.bridge.name': 'br-x' },
  Labels: {},
  Containers: {
    bbb: { Name: 'web', IPv4Address: '10.1.0.3/24' },
    aaa: { Name: 'db', IPv4Address: '10.1.0.2/24' },
  },
  NetworkSettings: { Networks: { net1: { IPAddress: '10.1.0.2', Aliases: ['a', 'b'] } } },
  Pid: 4242,
};

const render = (tpl: string, data: unknown = net): string => compileTemplate(tpl).execute(data);

test('fields, nested paths and literal text', () => {
  assert.equal(render('name={{.Name}} id={{.Id}}'), 'name=net1 id=0123456789abcdef');
  assert.equal(render('{{.NetworkSettings.Networks.net1.IPAddress}}'), '10.1.0.2');
  assert.equal(render('{{.Pid}} {{.EnableIPv6}}'), '4242 false');
  assert.equal(render('{{.}}', 'x'), 'x');
});

test("Go's fmt for maps, slices and nil", () => {
  assert.equal(render('{{.IPAM.Config}}'), '[map[Gateway:10.1.0.1 Subnet:10.1.0.0/24] map[Subnet:fd00::/64]]');
  assert.equal(render('{{.NetworkSettings.Networks.net1.Aliases}}'), '[a b]');
  assert.equal(render('{{.IPAM.Options}}'), '<nil>');
  assert.equal(render('{{.Labels}}'), 'map[]');
  assert.equal(render('{{.Missing}}'), '<no value>');
});

test('range over slices and maps (sorted keys), with variables', () => {
  assert.equal(render('{{range .Containers}}{{.IPv4Address}} {{end}}'), '10.1.0.2/24 10.1.0.3/24 ');
  assert.equal(render('{{range $k, $v := .Containers}}{{$k}}={{$v.Name}};{{end}}'), 'aaa=db;bbb=web;');
  assert.equal(render('{{range $i, $c := .IPAM.Config}}{{$i}}:{{$c.Subnet}} {{end}}'), '0:10.1.0.0/24 1:fd00::/64 ');
  assert.equal(render('{{range .IPAM.Config}}{{$.Name}}/{{.Subnet}} {{end}}'), 'net1/10.1.0.0/24 net1/fd00::/64 ');
  assert.equal(render('{{range .Labels}}x{{else}}none{{end}}'), 'none');
  assert.equal(render('{{range .IPAM.Options}}x{{end}}'), '');
});

test('index, json, len and docker functions', () => {
  assert.equal(render('{{index .Options "com.docker.network.bridge.name"}}'), 'br-x');
  assert.equal(render('{{index .Options "absent"}}'), '');
  assert.equal(render('{{(index .IPAM.Config 0).Gateway}}'), '10.1.0.1');
  assert.equal(render('{{json .IPAM}}'), JSON.stringify(net.IPAM));
  assert.equal(render('{{json .Name}}'), '"net1"');
  assert.equal(render('{{len .Containers}} {{len .IPAM.Config}} {{len .Name}}'), '2 2 4');
  assert.equal(render('{{.Name | upper}} {{lower "AB"}} {{title "hello world"}}'), 'NET1 ab Hello World');
  assert.equal(render('{{join .NetworkSettings.Networks.net1.Aliases ","}} {{split "a:b" ":"}}'), 'a,b [a b]');
  assert.equal(render('{{truncate .Id 4}}|{{pad .Name 1 2}}|'), '0123| net1  |');
  assert.equal(render('{{printf "%s-%d-%q-%5s|%-5s|" .Name .Pid .Name "r" "l"}}'), 'net1-4242-"net1"-    r|l    |');
  assert.equal(render('{{print "a" 1 2 "b"}}'), 'a1 2b');
});

test('if / else if / else, with, comparisons and boolean functions', () => {
  assert.equal(render('{{if .EnableIPv6}}v6{{else if .Containers}}busy{{else}}idle{{end}}'), 'busy');
  assert.equal(render('{{if eq .Name "x" "net1"}}match{{end}}'), 'match');
  assert.equal(render('{{if and .Name (not .EnableIPv6)}}ok{{end}}'), 'ok');
  assert.equal(render('{{if gt .Pid 1000}}big{{end}}{{if lt 1 2}}<{{end}}{{if ne .Name "x"}}!{{end}}'), 'big<!');
  assert.equal(render('{{or .Labels "none"}}'), 'none');
  assert.equal(render('{{with .IPAM}}{{.Driver}}{{end}}{{with .Labels}}x{{else}}-{{end}}'), 'default-');
});

test('and / or return the deciding argument and stop there, as Go 1.18+ does', () => {
  // and: the first empty argument, else the last; or: the first non-empty, else the last.
  assert.equal(render('{{and .Name .Pid}}'), '4242');
  assert.equal(render('{{and .Name .EnableIPv6 .Pid}}'), 'false');
  assert.equal(render('{{or .Labels .EnableIPv6}}'), 'false');
  assert.equal(render('{{or "" .Name .Pid}}'), 'net1');
  // An empty nil argument is itself the answer (prints as <nil>), not skipped.
  assert.equal(render('{{and .IPAM.Options "x"}}'), '<nil>');
  assert.equal(render('{{or "" .IPAM.Options}}'), '<nil>');
  // Arguments after the deciding one are not evaluated: no index error.
  assert.equal(render('{{and false (index .IPAM.Config 5)}}'), 'false');
  assert.equal(render('{{or .Name (index .IPAM.Config 5)}}'), 'net1');
  assert.equal(render('{{if and .EnableIPv6 (index .IPAM.Config 5).Subnet}}x{{else}}no{{end}}'), 'no');
  // A deciding argument that is reached is still evaluated, and its error reported.
  assert.throws(() => render('{{and true (index .IPAM.Config 5)}}'), (e: unknown) => e instanceof TemplateError && /index out of range: 5/.test(e.message));
  assert.throws(() => render('{{or "" (index .IPAM.Config 5)}}'), (e: unknown) => e instanceof TemplateError && /index out of range: 5/.test(e.message));
  // A piped value is the last argument.
  assert.equal(render('{{.Name | and .Pid}}'), 'net1');
  assert.equal(render('{{.Name | or .Pid}}'), '4242');
  assert.equal(render('{{.Name | and false}}'), 'false');
});

test('variables, pipelines, trim markers and comments', () => {
  assert.equal(render('{{$n := .Name}}{{$n}}{{$n = "other"}} {{$n}}'), 'net1 other');
  assert.equal(render('{{.Name | printf "%s!"}}'), 'net1!');
  assert.equal(render('a  {{- .Name -}}  b'), 'anet1b');
  assert.equal(render('{{/* a comment */}}x'), 'x');
  assert.equal(render('{{"}}"}}'), '}}');
  assert.equal(render('{{`raw\\n`}}'), 'raw\\n');
});

test('errors name the problem', () => {
  const parseErr = (tpl: string, re: RegExp): void => {
    assert.throws(() => compileTemplate(tpl), (e: unknown) => e instanceof TemplateError && e.info.code === 'PARSE' && re.test(e.message));
  };
  parseErr('{{nosuch .Name}}', /function "nosuch" not defined/);
  parseErr('{{if .Name}}', /no \{\{end\}\}/);
  parseErr('{{end}}', /unexpected \{\{end\}\}/);
  parseErr('{{.Name', /unclosed action/);
  const execErr = (tpl: string, re: RegExp): void => {
    assert.throws(() => render(tpl), (e: unknown) => e instanceof TemplateError && e.info.code === 'EXEC' && re.test(e.message));
  };
  execErr('{{.Missing.Field}}', /nil pointer evaluating interface \{\}\.Field/);
  execErr('{{.Name.Field}}', /can't evaluate field Field/);
  execErr('{{.Name 1}}', /can't give argument to non-function/);
  execErr('{{index .IPAM.Config 5}}', /index out of range/);
});

test('table headers: functions pass the header through, errors keep partial output', () => {
  const t = compileTemplate('{{.ID}}\t{{json .Name}}\t{{upper .Driver}}');
  assert.equal(t.execute({ ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER' }, { header: true }), 'NETWORK ID\tNAME\tDRIVER');
  const m = compileTemplate('{{.Name}}\t{{.Label "x"}}');
  assert.equal(m.execute({ Name: 'NAME' }, { header: true }), 'NAME\t');
  assert.equal(m.execute({ Name: 'n', Label: (k: unknown) => `label-${String(k)}` }), 'n\tlabel-x');
});
