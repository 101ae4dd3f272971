// Every resource type hafen's orchestration knows, by name: adding one is a file in this folder and
// a line here. Template files (provider templates) become types on demand.
import { TemplateError } from '../template/model.ts';
import { isTemplateFile } from '../template/environment.ts';
import { templateResourceType } from './template-resource.ts';
import type { ResourceType } from './types.ts';
import { heatNone } from './heat/none.ts';
import { heatValue } from './heat/value.ts';
import { heatRandomString } from './heat/random-string.ts';
import { heatTestResource } from './heat/test-resource.ts';
import { heatResourceGroup } from './heat/resource-group.ts';
import { heatWaitConditionHandle } from './heat/wait-condition-handle.ts';
import { heatWaitCondition } from './heat/wait-condition.ts';
import { heatSoftwareConfig } from './heat/software-config.ts';
import { heatSoftwareDeployment } from './heat/software-deployment.ts';
import { heatStructuredConfig } from './heat/structured-config.ts';
import { heatStructuredDeployment } from './heat/structured-deployment.ts';
import { heatCloudConfig } from './heat/cloud-config.ts';
import { heatMultipartMime } from './heat/multipart-mime.ts';
import { heatSoftwareDeploymentGroup, heatStructuredDeploymentGroup } from './heat/software-deployment-group.ts';
import { dockerContainer } from './docker/container.ts';
import { novaServer } from './nova/server.ts';
import { novaKeyPair } from './nova/key-pair.ts';
import { novaServerGroup } from './nova/server-group.ts';
import { novaFlavor } from './nova/flavor.ts';
import { neutronNet } from './neutron/net.ts';
import { neutronSubnet } from './neutron/subnet.ts';
import { neutronPort } from './neutron/port.ts';
import { neutronSecurityGroup } from './neutron/security-group.ts';
import { neutronSecurityGroupRule } from './neutron/security-group-rule.ts';
import { neutronRouter } from './neutron/router.ts';
import { neutronRouterInterface } from './neutron/router-interface.ts';
import { neutronFloatingIP } from './neutron/floating-ip.ts';
import { neutronFloatingIPAssociation } from './neutron/floating-ip-association.ts';
import { neutronFloatingIPPortForward } from './neutron/floating-ip-port-forward.ts';
import { glanceWebImage } from './glance/web-image.ts';
import { magnumNodeGroup } from './magnum/nodegroup.ts';
import { zunContainer } from './zun/container.ts';
import { magnumClusterTemplate } from './magnum/cluster-template.ts';
import { magnumCluster } from './magnum/cluster.ts';

const BUILT_IN: ResourceType[] = [
  heatNone,
  heatValue,
  heatRandomString,
  heatTestResource,
  heatResourceGroup,
  heatWaitConditionHandle,
  heatWaitCondition,
  heatSoftwareConfig,
  heatSoftwareDeployment,
  heatStructuredConfig,
  heatStructuredDeployment,
  heatCloudConfig,
  heatMultipartMime,
  heatSoftwareDeploymentGroup,
  heatStructuredDeploymentGroup,
  dockerContainer,
  novaServer,
  novaKeyPair,
  novaServerGroup,
  novaFlavor,
  neutronNet,
  neutronSubnet,
  neutronPort,
  neutronSecurityGroup,
  neutronSecurityGroupRule,
  neutronRouter,
  neutronRouterInterface,
  neutronFloatingIP,
  neutronFloatingIPAssociation,
  neutronFloatingIPPortForward,
  glanceWebImage,
  magnumNodeGroup,
  zunContainer,
  magnumClusterTemplate,
  magnumCluster,
];

export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  constructor(types: ResourceType[] = BUILT_IN) {
    for (const t of types) this.register(t);
  }

  register(type: ResourceType): void {
    this.types.set(type.type, type);
  }

  get(name: string): ResourceType | undefined {
    return this.types.get(name);
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }

  /** The type for a (registry-mapped) type name: a registered one, or a provider template file. */
  typeFor(name: string, files: Record<string, string>, at: string): ResourceType {
    const t = this.types.get(name);
    if (t) return t;
    if (isTemplateFile(name)) return templateResourceType(name, files, at);
    throw new TemplateError(`${at}: The Resource Type (${name}) could not be found.`);
  }
}
