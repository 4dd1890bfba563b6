-- A user's avatar: the id of an image file of purpose avatar that the user
-- uploaded; the file service made it public when it was attached. NULL:
-- no avatar.
ALTER TABLE users ADD COLUMN avatar_file_id uuid;
-- file.deleted finds the profiles showing the file.
CREATE INDEX users_avatar_file ON users (avatar_file_id) WHERE avatar_file_id IS NOT NULL;
