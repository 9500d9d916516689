'use strict';
/**
 * The network path of the VPC-attached workers (apply, control: they mount
 * EFS, so they live in the VPC). `network=endpoints` adds gateway endpoints for
 * S3 and DynamoDB and interface endpoints for EventBridge and Step Functions
 * (`interfaceEndpoints`); `network=nat` adds one NAT gateway in `publicSubnetId` and a default
 * route in every private route table instead (and is what cross-region buckets
 * need: a gateway endpoint reaches only same-region buckets). Both sets are in
 * the template, switched by CloudFormation Conditions, so one template test
 * covers both. Generated here because CloudFormation has no loop for "one
 * route / ingress rule per id in a list".
 */
const { list } = require('./lists.cjs');

/**
 * Interface endpoints the VPC workers can use: apply publishes conflict
 * events (EventBridge) and hands large files to their machine, control starts
 * tasks (Step Functions). Nothing in the VPC calls Lambda, so there is no
 * Lambda endpoint. `interfaceEndpoints` picks which to create (a VPC that has
 * one already, or lacks DNS support for private DNS, leaves it out).
 */
const INTERFACE_SERVICES = { events: 'Events', states: 'States' };

/** `events,states` | `none` → the services to create interface endpoints for. */
function interfaceServices(text) {
  const names = list(text);
  if (names.length === 1 && names[0] === 'none') return [];
  for (const name of names)
    if (!(name in INTERFACE_SERVICES))
      throw new Error(
        `deploy parameter \`interfaceEndpoints\` must list ${Object.keys(INTERFACE_SERVICES).join(', ')} or be "none", got "${name}"`,
      );
  return [...new Set(names)];
}
const GATEWAY_SERVICES = { S3: 's3', DynamoDb: 'dynamodb' };

/** Logical-id-safe suffix for the n-th id. */
const nth = (i) => String(i + 1);

function networkResources({
  network,
  vpcId,
  subnetIds,
  securityGroupIds,
  routeTableIds,
  publicSubnetId,
  interfaceEndpoints = 'events,states',
}) {
  if (!['endpoints', 'nat'].includes(network))
    throw new Error(`deploy parameter \`network\` must be "endpoints" or "nat", got "${network}"`);
  if (network === 'nat' && !/^subnet-[0-9a-f]+$/.test(String(publicSubnetId)))
    throw new Error(
      `deploy parameter \`publicSubnetId\` must name the NAT gateway's public subnet (subnet-…) when network=nat, got "${publicSubnetId}"`,
    );
  const Resources = {};
  for (const [name, service] of Object.entries(GATEWAY_SERVICES)) {
    Resources[`${name}GatewayEndpoint`] = {
      Type: 'AWS::EC2::VPCEndpoint',
      Condition: 'UseVpcEndpoints',
      Properties: {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Sub': `com.amazonaws.\${AWS::Region}.${service}` },
        VpcId: vpcId,
        RouteTableIds: routeTableIds,
      },
    };
  }
  Resources.EndpointSecurityGroup = {
    Type: 'AWS::EC2::SecurityGroup',
    Condition: 'UseVpcEndpoints',
    Properties: {
      GroupDescription: 'bucketlink interface endpoints: HTTPS from the workers',
      VpcId: vpcId,
    },
  };
  securityGroupIds.forEach((groupId, i) => {
    Resources[`EndpointIngress${nth(i)}`] = {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Condition: 'UseVpcEndpoints',
      Properties: {
        GroupId: { Ref: 'EndpointSecurityGroup' },
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: groupId,
      },
    };
  });
  for (const service of interfaceServices(interfaceEndpoints)) {
    Resources[`${INTERFACE_SERVICES[service]}InterfaceEndpoint`] = {
      Type: 'AWS::EC2::VPCEndpoint',
      Condition: 'UseVpcEndpoints',
      Properties: {
        VpcEndpointType: 'Interface',
        ServiceName: { 'Fn::Sub': `com.amazonaws.\${AWS::Region}.${service}` },
        VpcId: vpcId,
        SubnetIds: subnetIds,
        SecurityGroupIds: [{ Ref: 'EndpointSecurityGroup' }],
        PrivateDnsEnabled: true,
      },
    };
  }
  Resources.NatAddress = { Type: 'AWS::EC2::EIP', Condition: 'UseNat', Properties: { Domain: 'vpc' } };
  Resources.NatGateway = {
    Type: 'AWS::EC2::NatGateway',
    Condition: 'UseNat',
    Properties: { AllocationId: { 'Fn::GetAtt': ['NatAddress', 'AllocationId'] }, SubnetId: publicSubnetId },
  };
  routeTableIds.forEach((routeTableId, i) => {
    Resources[`NatRoute${nth(i)}`] = {
      Type: 'AWS::EC2::Route',
      Condition: 'UseNat',
      Properties: {
        RouteTableId: routeTableId,
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: { Ref: 'NatGateway' },
      },
    };
  });
  return {
    Conditions: {
      UseVpcEndpoints: { 'Fn::Equals': [network, 'endpoints'] },
      UseNat: { 'Fn::Equals': [network, 'nat'] },
    },
    Resources,
  };
}

module.exports = async ({ resolveVariable }) => {
  const param = (name) => resolveVariable(`param:${name}`);
  return networkResources({
    network: await param('network'),
    vpcId: await param('vpcId'),
    subnetIds: list(await param('subnetIds')),
    securityGroupIds: list(await param('securityGroupIds')),
    routeTableIds: list(await param('routeTableIds')),
    publicSubnetId: await param('publicSubnetId'),
    interfaceEndpoints: await param('interfaceEndpoints'),
  });
};
module.exports.networkResources = networkResources;
