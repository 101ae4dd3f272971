"""Nova's proxy calls through openstacksdk's compute proxy (no microversion header: 2.1).

Usage: nova_proxy_sdk.py AUTH_URL USER PASSWORD PROJECT SERVER_ID IMAGE_ID FLOATING_IP; prints one JSON document.
"""
import json
import sys

import openstack

auth_url, user, password, project, server_id, image_id, address = sys.argv[1:8]
conn = openstack.connect(auth_url=auth_url, username=user, password=password, project_name=project,
                         user_domain_id="default", project_domain_id="default", identity_api_version="3",
                         region_name="RegionOne")
out = {}
out["image_ids"] = [i.id for i in conn.compute.images()]
out["min_ram"] = conn.compute.get_image(image_id).min_ram
conn.compute.set_image_metadata(image_id, sdk="yes")
out["metadata"] = conn.compute.get_image_metadata(image_id).metadata
conn.compute.delete_image_metadata(image_id, ["sdk"])
out["metadata_after"] = conn.compute.get_image_metadata(image_id).metadata
out["groups"] = [g["name"] for g in conn.compute.fetch_server_security_groups(server_id).security_groups]
conn.compute.add_floating_ip_to_server(server_id, address)
out["addresses"] = [a["addr"] for net in conn.compute.get_server(server_id).addresses.values() for a in net]
conn.compute.remove_floating_ip_from_server(server_id, address)
print(json.dumps(out))
