# Renders one BOSH job template the way the director does for the parts the
# acceptance-tests job uses: p() with the spec's defaults, spec.ip, JSON.
# Not bosh-template (not installable here): no links, no spec.* beyond ip/az.
#   ruby render.rb JOB_SPEC TEMPLATE PROPERTIES_JSON
require 'erb'
require 'json'
require 'yaml'
require 'ostruct'

JOB_SPEC = YAML.load_file(ARGV[0])
PROPS = JSON.parse(ARGV[2])

def lookup(hash, name)
  name.split('.').reduce(hash) do |h, k|
    return :missing unless h.is_a?(Hash) && h.key?(k)
    h[k]
  end
end

def p(name, *default)
  v = lookup(PROPS, name)
  return v unless v == :missing
  d = JOB_SPEC['properties'][name] or raise "unknown property #{name}"
  return d['default'] if d.key?('default')
  return default[0] unless default.empty?
  raise "missing property #{name}"
end

def spec
  OpenStruct.new(ip: '10.0.16.5', az: 'z1', name: 'api', index: 0)
end

print ERB.new(File.read(ARGV[1]), trim_mode: '-').result(binding)
