// The image service's default policy: readers read, members create and manage their project's
// images (deactivating and reactivating them included, as in Glance), only admins publish images
// for everyone.
export const imagePolicy: Record<string, string> = {
  'image:admin': 'role:admin',
  'image:get_images': 'role:reader',
  'image:get_image': 'role:reader',
  'image:download_image': 'role:reader',
  'image:add_image': 'role:member',
  'image:modify_image': 'role:member',
  'image:delete_image': 'role:member',
  'image:upload_image': 'role:member',
  'image:publicize_image': 'role:admin',
  'image:communitize_image': 'role:member',
  'image:deactivate': 'role:admin or (role:member and project_id:%(project_id)s)',
  'image:reactivate': 'role:admin or (role:member and project_id:%(project_id)s)',
  'image:get_members': 'role:reader',
  'image:add_member': 'role:member',
  'image:modify_member': 'role:member',
  'image:delete_member': 'role:member',
};
