% deskless quick start: runs on the direct-attach engine (runmat-core inside the addon).
greeting = "Hello from deskless";
disp(greeting);

% A little numeric work.
A = magic(4);
fprintf("sum of magic(4): %d\n", sum(A(:)));

% Write a file inside the workspace and read it back.
fid = fopen("hello-output.txt", "w");
fprintf(fid, "%d squared is %d\n", [1:5; (1:5).^2]);
fclose(fid);
lines = readlines("hello-output.txt");
fprintf("wrote %d lines, the last one: %s\n", numel(lines(lines ~= "")), lines(5));
delete("hello-output.txt");
