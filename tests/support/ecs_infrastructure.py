# The shared infrastructure deploy/terraform makes (VPC, subnets, security groups, load balancer
# and listener, IAM roles, ECS cluster, log group, ECR repository with a release image), made
# with boto3 against moto; printed the way `terraform output -json` prints it, plus the image's
# digest. Used by the deployer's tests (C++ and node).
# Usage: python3 ecs_infrastructure.py <endpoint URL> <access key> <secret key>
import json
import sys

import boto3


def client(name):
    return boto3.client(name, endpoint_url=sys.argv[1], region_name='eu-west-1',
                        aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])


ec2 = client('ec2')
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f'10.0.{i}.0/24', AvailabilityZone=f'eu-west-1{z}')['Subnet']['SubnetId']
           for i, z in [(1, 'a'), (2, 'b')]]
alb_sg = ec2.create_security_group(GroupName='alb', Description='alb', VpcId=vpc)['GroupId']
task_sg = ec2.create_security_group(GroupName='tasks', Description='tasks', VpcId=vpc)['GroupId']
elb = client('elbv2')
lb = elb.create_load_balancer(Name='tempo', Subnets=subnets, SecurityGroups=[alb_sg], Scheme='internet-facing', Type='application')['LoadBalancers'][0]
listener = elb.create_listener(LoadBalancerArn=lb['LoadBalancerArn'], Protocol='HTTP', Port=80,
    DefaultActions=[{'Type': 'fixed-response', 'FixedResponseConfig': {'StatusCode': '404'}}])['Listeners'][0]['ListenerArn']
iam = client('iam')
trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ecs-tasks.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]})
roles = [iam.create_role(RoleName=n, AssumeRolePolicyDocument=trust)['Role']['Arn'] for n in ['ecsTaskExecutionRole', 'ecsTaskRole']]
client('ecs').create_cluster(clusterName='tempo-voice-cluster')
client('logs').create_log_group(logGroupName='/ecs/tempo-agents')
ecr = client('ecr')
ecr.create_repository(repositoryName='tempo-voice-agents')
manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',
    'config': {'mediaType': 'application/vnd.docker.container.image.v1+json', 'size': 7023, 'digest': 'sha256:' + '1' * 64},
    'layers': [{'mediaType': 'application/vnd.docker.image.rootfs.diff.tar.gzip', 'size': 32654, 'digest': 'sha256:' + '2' * 64}]})
digest = ecr.put_image(repositoryName='tempo-voice-agents', imageManifest=manifest, imageTag='v1.0.0')['image']['imageId']['imageDigest']
out = lambda v: {'sensitive': False, 'type': 'string', 'value': v}
print(json.dumps({'region': out('eu-west-1'), 'cluster_name': out('tempo-voice-cluster'), 'listener_arn': out(listener),
  'vpc_id': out(vpc), 'private_subnet_ids': out(subnets), 'task_security_group_ids': out([task_sg]),
  'execution_role_arn': out(roles[0]), 'task_role_arn': out(roles[1]), 'ecr_repository_name': out('tempo-voice-agents'),
  'image_tag': out('v1.0.0'), 'public_url': out('https://voice.example.com'), 'digest': digest}))
